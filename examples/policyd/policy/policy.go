// Package policy speaks Postfix's SMTP access policy delegation protocol
// (https://www.postfix.org/SMTPD_POLICY_README.html): requests of
// name=value lines ended by an empty line, answered by one "action=..."
// line and an empty line, many requests per connection. It maps a request
// onto a smtpcheck.Session and a smtpcheck.Result onto a Postfix action.
package policy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Limits on one request. Postfix's own requests are well under them; a
// client past them is broken or hostile and its connection is closed.
const (
	MaxLine       = 8 << 10  // bytes in one name=value line
	MaxAttributes = 128      // attributes in one request
	MaxRequest    = 64 << 10 // bytes in one request
)

// ErrMalformed is wrapped by every error about a request's syntax; the
// protocol asks a server to log it and close the connection.
var ErrMalformed = errors.New("policy: malformed request")

// Request is one policy request's attributes by name.
type Request map[string]string

// Reader reads requests from a connection.
type Reader struct {
	br *bufio.Reader
	// buf holds the request being read, lines without their ends; attrs
	// marks each attribute in it; req is the map Read returns. All three
	// are reused from request to request.
	buf   []byte
	attrs []attrSpan
	req   Request
}

// attrSpan is one name=value line in Reader.buf: name is buf[start:eq],
// value buf[eq+1:end].
type attrSpan struct{ start, eq, end int }

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 4096)} }

// Read reads one request. The Request it returns is valid until the next
// Read, which empties and refills the same map; the strings in it stay
// valid. It returns io.EOF when the connection ends
// cleanly between requests, and an error wrapping ErrMalformed for a line
// without '=', a NUL byte, an over-long line or request, too many
// attributes, or a connection that ends inside a request.
func (r *Reader) Read() (Request, error) {
	r.buf, r.attrs = r.buf[:0], r.attrs[:0]
	total := 0
	for {
		start := len(r.buf)
		err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if len(r.attrs) == 0 && total == 0 {
					return nil, io.EOF
				}
				return nil, fmt.Errorf("%w: connection closed inside a request", ErrMalformed)
			}
			return nil, err
		}
		line := r.buf[start:]
		total += len(line) + 1
		if total > MaxRequest {
			return nil, fmt.Errorf("%w: request longer than %d bytes", ErrMalformed, MaxRequest)
		}
		if len(line) == 0 {
			if len(r.attrs) == 0 {
				return nil, fmt.Errorf("%w: empty request", ErrMalformed)
			}
			break
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, fmt.Errorf("%w: NUL byte in %.40q", ErrMalformed, line)
		}
		eq := bytes.IndexByte(line, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("%w: no name=value in %.40q", ErrMalformed, line)
		}
		if len(r.attrs) >= MaxAttributes {
			return nil, fmt.Errorf("%w: more than %d attributes", ErrMalformed, MaxAttributes)
		}
		r.attrs = append(r.attrs, attrSpan{start, start + eq, len(r.buf)})
	}
	all := string(r.buf)
	// The map is the previous request's, emptied: its values are
	// substrings of each request's own string, so what a caller kept from
	// a request stays valid, and a request costs its one string.
	if r.req == nil {
		r.req = make(Request, len(r.attrs))
	}
	req := r.req
	clear(req)
	for _, a := range r.attrs {
		req[all[a.start:a.eq]] = all[a.eq+1 : a.end]
	}
	return req, nil
}

// readLine appends one line without its "\n" (or "\r\n") to r.buf,
// refusing lines longer than MaxLine without buffering them.
func (r *Reader) readLine() error {
	start := len(r.buf)
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.buf = append(r.buf, chunk...)
		if len(r.buf)-start > MaxLine+2 {
			return fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLine)
		}
		switch {
		case err == nil:
			r.buf = r.buf[:len(r.buf)-1]
			if len(r.buf) > start && r.buf[len(r.buf)-1] == '\r' {
				r.buf = r.buf[:len(r.buf)-1]
			}
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(r.buf) > start:
			return fmt.Errorf("%w: connection closed inside a line", ErrMalformed)
		default:
			return err
		}
	}
}

// WriteAction writes "action=ACTION\n\n". Line breaks in action become
// spaces so that a reply text can never end the response early.
func WriteAction(w io.Writer, action string) error {
	if strings.ContainsAny(action, "\n\r\x00") {
		action = strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == 0 {
				return ' '
			}
			return r
		}, action)
	}
	if sw, ok := w.(io.StringWriter); ok {
		// A buffered writer takes the pieces without a joined copy.
		if _, err := sw.WriteString("action="); err != nil {
			return err
		}
		if _, err := sw.WriteString(action); err != nil {
			return err
		}
		_, err := sw.WriteString("\n\n")
		return err
	}
	_, err := io.WriteString(w, "action="+action+"\n\n")
	return err
}

// stages maps Postfix's protocol_state to a stage.
var stages = map[string]smtpcheck.Stage{
	"CONNECT":        smtpcheck.StageConnect,
	"EHLO":           smtpcheck.StageHelo,
	"HELO":           smtpcheck.StageHelo,
	"MAIL":           smtpcheck.StageMail,
	"RCPT":           smtpcheck.StageRcpt,
	"DATA":           smtpcheck.StageData,
	"END-OF-MESSAGE": smtpcheck.StageEndOfData,
}

// ErrUnsupported is returned by Session for a request this server does not
// judge (another request type, a VRFY or ETRN state); answer DUNNO.
var ErrUnsupported = errors.New("policy: unsupported request")

// Session builds the session a policy sees from a request. Postfix's
// client_name is the verified (forward-confirmed) name, "unknown" without
// one; reverse_client_name is the unverified PTR name.
func (r Request) Session() (*smtpcheck.Session, error) {
	s := &smtpcheck.Session{}
	if err := r.Fill(s, &smtpcheck.Mail{}); err != nil {
		return nil, err
	}
	return s, nil
}

// Fill is Session into a session of the caller's, fresh or Reset, with
// mail as the storage for its MAIL facts: a server that reuses both from
// request to request builds a request's session without allocating.
func (r Request) Fill(s *smtpcheck.Session, mail *smtpcheck.Mail) error {
	if t := r["request"]; t != "smtpd_access_policy" {
		return fmt.Errorf("%w: request=%q", ErrUnsupported, t)
	}
	st, ok := stages[strings.ToUpper(r["protocol_state"])]
	if !ok {
		return fmt.Errorf("%w: protocol_state=%q", ErrUnsupported, r["protocol_state"])
	}
	ip, err := netip.ParseAddr(r["client_address"])
	if err != nil {
		return fmt.Errorf("%w: client_address=%q", ErrMalformed, r["client_address"])
	}
	s.Stage = st
	s.Conn.ID = r["queue_id"]
	if s.Conn.ID == "" {
		s.Conn.ID = r["instance"]
	}
	s.Conn.ClientIP = ip.Unmap()
	if port := r["client_port"]; port == "" {
		// absent (older Postfix): no port, and no error to allocate
	} else if p, err := strconv.ParseUint(port, 10, 16); err == nil {
		s.Conn.ClientPort = uint16(p)
	}
	// The PTR facts as smtpcheck.Conn defines them. Postfix says
	// "unknown" for no name: reverse_client_name "unknown" is an address
	// without PTR; client_name "unknown" beside a reverse name is a name
	// that does not lead back. A verified name is a PTR name too, also
	// from a Postfix that sends no reverse_client_name.
	known := func(attr string) string {
		n := strings.TrimSuffix(strings.ToLower(r[attr]), ".")
		if n == "unknown" {
			return ""
		}
		return n
	}
	if n := known("reverse_client_name"); n != "" {
		s.Conn.PTR = []string{n}
	}
	if n := known("client_name"); n != "" {
		s.Conn.Confirmed = []string{n}
		if len(s.Conn.PTR) == 0 || s.Conn.PTR[0] != n {
			s.Conn.PTR = append([]string{n}, s.Conn.PTR...)
		}
	}
	s.Conn.PTRLooked = r["client_name"] != "" || r["reverse_client_name"] != ""
	s.Conn.AuthUser = r["sasl_username"]
	if p := r["encryption_protocol"]; p != "" {
		s.Conn.TLS, s.Conn.TLSVersion = true, p
	}
	if h := r["helo_name"]; h != "" {
		verb := "EHLO"
		if strings.EqualFold(r["protocol_name"], "SMTP") {
			verb = "HELO"
		}
		s.SetHelo(verb, h)
	}
	if st >= smtpcheck.StageMail {
		*mail = smtpcheck.Mail{From: smtpcheck.ParseAddress(r["sender"])}
		m := mail
		if n, err := strconv.ParseInt(r["size"], 10, 64); err == nil && n > 0 {
			m.Size = n
		}
		s.Mail = m
	}
	if rc := r["recipient"]; rc != "" {
		s.Rcpt = smtpcheck.ParseAddress(rc)
		if st > smtpcheck.StageRcpt {
			s.Rcpts = []smtpcheck.Address{s.Rcpt}
		}
	}
	return nil
}

// Action turns a result into a Postfix action: DUNNO for no verdict (or
// PREPEND for a header to add), DEFER_IF_PERMIT, DEFER, REJECT, DISCARD or
// HOLD with the catalog reply's enhanced code and text, or the reply's own
// 421 for a disconnect.
func Action(r smtpcheck.Result) string {
	var verb string
	switch r.Action {
	case smtpcheck.DeferIfPermit:
		verb = "DEFER_IF_PERMIT"
	case smtpcheck.TempFail:
		verb = "DEFER"
	case smtpcheck.Reject:
		verb = "REJECT"
	case smtpcheck.Disconnect:
		verb = strconv.Itoa(r.DefaultReply().Code())
	case smtpcheck.Discard:
		verb = "DISCARD"
	case smtpcheck.Quarantine:
		verb = "HOLD"
	default:
		if len(r.Headers) > 0 {
			// One policy answer carries one action: the first header.
			h := r.Headers[0]
			return "PREPEND " + h.Name + ": " + h.Value
		}
		return "DUNNO"
	}
	// VERB ENHANCED TEXT, the reply's lines joined with "; ", in one buffer.
	rep := r.DefaultReply()
	lines := rep.Text()
	n := len(verb) + len(" 4.7.1 ")
	for _, l := range lines {
		n += len(l) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, verb...)
	b = append(b, ' ')
	b = append(b, rep.Enhanced().String()...)
	b = append(b, ' ')
	for i, l := range lines {
		if i > 0 {
			b = append(b, "; "...)
		}
		b = append(b, l...)
	}
	return string(b)
}
