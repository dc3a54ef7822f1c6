package spamd

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Verdict is spamd's answer about one message.
type Verdict struct {
	// Spam is spamd's own judgement: the score reached its required
	// score.
	Spam bool
	// Score is the message's score; Required is spamd's threshold
	// (required_score).
	Score, Required float64
	// Rules are the names of the rules that matched, such as "GTUBE".
	Rules []string
	// Status is spamd's status line, such as "SPAMD/1.1 0 EX_OK".
	Status string
}

// ErrUnexpected is an answer that is not the SPAMD protocol.
var ErrUnexpected = errors.New("spamd: unexpected answer")

// ErrOverflow is an answer longer than any spamd gives to SYMBOLS.
var ErrOverflow = errors.New("spamd: answer too long")

// StatusError is spamd's refusal of a request: a status line with a code
// other than 0 (EX_OK), such as "SPAMD/1.0 76 Bad header line".
type StatusError struct {
	Code int    // a sysexits code: 64 EX_USAGE, 74 EX_IOERR, 75 EX_TEMPFAIL, 76 EX_PROTOCOL...
	Text string // the status line as received
}

func (e *StatusError) Error() string { return "spamd: answered " + e.Text }

// Bounds on an answer: spamd's status and header lines are short; SYMBOLS
// lists rule names, a few hundred at most.
const (
	maxLine    = 1024
	maxHeaders = 32
	maxBody    = 64 << 10
)

// ParseReply reads spamd's answer to CHECK or SYMBOLS:
//
//	SPAMD/1.1 0 EX_OK
//	Content-length: 30
//	Spam: True ; 1000.0 / 5.0
//
//	GTUBE,MISSING_DATE,NO_RECEIVED
//
// The body, when there is one, is SYMBOLS' comma-separated rule list. A
// status other than 0 is a *StatusError; an answer that does not follow the
// protocol is ErrUnexpected (or ErrOverflow when it does not end).
func ParseReply(r io.Reader) (Verdict, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxLine*(maxHeaders+1)+maxBody), 4096)
	status, err := readLine(br)
	if err != nil {
		return Verdict{Status: status}, err
	}
	proto, rest, _ := strings.Cut(status, " ")
	code, _, _ := strings.Cut(rest, " ")
	if !strings.HasPrefix(proto, "SPAMD/") || code == "" {
		return Verdict{Status: status}, ErrUnexpected
	}
	n, err := strconv.Atoi(code)
	if err != nil || n < 0 {
		return Verdict{Status: status}, ErrUnexpected
	}
	if n != 0 {
		return Verdict{Status: status}, &StatusError{Code: n, Text: status}
	}
	var v Verdict
	var sawSpam bool
	length := int64(-1)
	for i := 0; ; i++ {
		if i > maxHeaders {
			return Verdict{Status: status}, ErrOverflow
		}
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" {
				break // an answer without a body may end here
			}
			return Verdict{Status: status}, err
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return Verdict{Status: status}, ErrUnexpected
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "spam":
			if v.Spam, v.Score, v.Required, err = parseSpam(value); err != nil {
				return Verdict{Status: status}, err
			}
			sawSpam = true
		case "content-length":
			if length, err = strconv.ParseInt(value, 10, 64); err != nil || length < 0 {
				return Verdict{Status: status}, ErrUnexpected
			}
		}
	}
	if !sawSpam {
		return Verdict{Status: status}, ErrUnexpected
	}
	if length > maxBody {
		return Verdict{Status: status}, ErrOverflow
	}
	var body []byte
	if length >= 0 {
		body = make([]byte, length)
		if _, err := io.ReadFull(br, body); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = ErrUnexpected // shorter than it said
			}
			return Verdict{Status: status}, err
		}
	} else {
		if body, err = io.ReadAll(io.LimitReader(br, maxBody+1)); err != nil {
			return Verdict{Status: status}, err
		}
		if len(body) > maxBody {
			return Verdict{Status: status}, ErrOverflow
		}
	}
	for _, r := range strings.Split(strings.TrimSpace(string(body)), ",") {
		if r = strings.TrimSpace(r); r != "" {
			if !ruleName(r) {
				return Verdict{Status: status}, ErrUnexpected
			}
			v.Rules = append(v.Rules, r)
		}
	}
	v.Status = status
	return v, nil
}

// parseSpam reads "True ; 1000.0 / 5.0" (spamd also says "Yes"/"No").
func parseSpam(s string) (bool, float64, float64, error) {
	flag, scores, ok := strings.Cut(s, ";")
	if !ok {
		return false, 0, 0, ErrUnexpected
	}
	var spam bool
	switch strings.ToLower(strings.TrimSpace(flag)) {
	case "true", "yes":
		spam = true
	case "false", "no":
	default:
		return false, 0, 0, ErrUnexpected
	}
	a, b, ok := strings.Cut(scores, "/")
	if !ok {
		return false, 0, 0, ErrUnexpected
	}
	score, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	req, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err1 != nil || err2 != nil || !finite(score) || !finite(req) {
		return false, 0, 0, ErrUnexpected
	}
	return spam, score, req, nil
}

func finite(f float64) bool { return f == f && f < 1e300 && f > -1e300 }

// ruleName reports a SpamAssassin rule name: letters, digits, '_' and '.'.
func ruleName(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// readLine reads one CRLF- or LF-ended line of at most maxLine octets.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", ErrOverflow
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line := strings.TrimRight(string(b), "\r\n")
		if err != nil {
			if errors.Is(err, io.EOF) && line != "" {
				return line, nil
			}
			return line, err
		}
		return line, nil
	}
}
