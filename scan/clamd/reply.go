package clamd

import (
	"errors"
	"strings"
)

// Verdict is clamd's answer about one stream.
type Verdict struct {
	// Infected is true when clamd found a signature.
	Infected bool
	// Virus is the signature's name, such as "Win.Test.EICAR_HDB-1".
	Virus string
	// Reply is clamd's answer as received, without its terminator.
	Reply string
}

// Errors ParseReply returns; Scan wraps them in an *Error.
var (
	// ErrSizeLimit: the stream was longer than clamd's StreamMaxLength.
	ErrSizeLimit = errors.New("clamd: INSTREAM size limit exceeded")
	// ErrScanFailed: clamd answered ERROR (it could not scan the stream).
	ErrScanFailed = errors.New("clamd: scan failed")
	// ErrUnexpected: an answer that is not clamd's INSTREAM protocol.
	ErrUnexpected = errors.New("clamd: unexpected answer")
	// ErrOverflow: an answer longer than any clamd gives.
	ErrOverflow = errors.New("clamd: answer too long")
)

// maxReply bounds the answer read: clamd's longest is a virus name (at most
// a few hundred octets) after "stream: ".
const maxReply = 1024

// ParseReply reads clamd's answer to INSTREAM, with or without its NUL or
// newline terminator:
//
//	stream: OK                              clean
//	stream: Win.Test.EICAR_HDB-1 FOUND      infected
//	INSTREAM size limit exceeded. ERROR     ErrSizeLimit
//	stream: <reason> ERROR                  ErrScanFailed
//
// Anything else is ErrUnexpected. Only a clean or infected answer gives a
// nil error; the Verdict's Reply is set in every case.
func ParseReply(s string) (Verdict, error) {
	s = strings.TrimRight(s, "\x00\r\n")
	v := Verdict{Reply: s}
	if len(s) > maxReply {
		v.Reply = s[:maxReply]
		return v, ErrOverflow
	}
	if strings.HasSuffix(s, " ERROR") {
		if strings.Contains(s, "size limit exceeded") {
			return v, ErrSizeLimit
		}
		if _, _, ok := strings.Cut(s, ": "); ok {
			return v, ErrScanFailed
		}
		return v, ErrUnexpected
	}
	// "stream: " names what was scanned; IDSESSION puts "N: " before it.
	rest := s
	if n, after, ok := strings.Cut(s, ": "); ok && n != "" && strings.Trim(n, "0123456789") == "" {
		rest = after
	}
	result, ok := strings.CutPrefix(rest, "stream: ")
	if !ok {
		return v, ErrUnexpected
	}
	switch {
	case result == "OK":
		return v, nil
	case strings.HasSuffix(result, " FOUND"):
		name := strings.TrimSuffix(result, " FOUND")
		if name == "" || !printable(name) {
			return v, ErrUnexpected
		}
		v.Infected, v.Virus = true, name
		return v, nil
	}
	return v, ErrUnexpected
}

// printable reports a signature name clamd could give: printable ASCII
// without blanks at either end, so a reply can quote it.
func printable(s string) bool {
	if strings.TrimSpace(s) != s {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
