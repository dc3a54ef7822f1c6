package smtpcheck

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stage is the point of an SMTP conversation at which a check runs.
type Stage uint8

// Stages, in the order a conversation reaches them.
const (
	StageConnect   Stage = iota + 1 // before the greeting
	StageHelo                       // HELO or EHLO
	StageMail                       // MAIL FROM
	StageRcpt                       // each RCPT TO
	StageData                       // the DATA command (recipients known, no message yet)
	StageHeaders                    // the message header has been read
	StageEndOfData                  // the whole message has been read
)

var stageNames = [...]string{"", "connect", "helo", "mail", "rcpt", "data", "headers", "end-of-data"}

// String returns the stage's lower-case name, such as "rcpt".
func (s Stage) String() string {
	if int(s) < len(stageNames) && s != 0 {
		return stageNames[s]
	}
	return fmt.Sprintf("stage(%d)", uint8(s))
}

// Conn holds what is known about the client's connection.
type Conn struct {
	ID         string         // session identifier used in logs and Received lines
	ClientIP   netip.Addr     // the client's address (IPv4-mapped addresses unmapped)
	ClientPort uint16         // the client's source port
	Local      netip.AddrPort // the address the client connected to
	TLS        bool           // the connection is under TLS
	TLSVersion string         // such as "TLS1.3", when TLS
	AuthUser   string         // the SASL identity, when authenticated
	Trusted    bool           // the client is in a trusted network (mynetworks)

	// The client's reverse DNS, with the same meaning whoever fills it (a
	// server adapter, a policy-protocol front-end from Postfix's
	// client_name and reverse_client_name, a test):
	//
	//   - PTRLooked false: nothing is known; a check may look it up.
	//   - PTRLooked, PTRErr nil, PTR empty: the address has no PTR record
	//     (NXDOMAIN or NODATA). That is an answer, not an error: checks
	//     that require reverse DNS refuse such a client.
	//   - PTR: the names found (lower case, no trailing dot); Confirmed:
	//     those among them whose A/AAAA records lead back to ClientIP
	//     (forward-confirmed reverse DNS). A name in Confirmed is in PTR.
	//   - PTRErr: the lookup failed temporarily (SERVFAIL, timeout), so
	//     the client may have names nobody could see. With PTR empty the
	//     PTR lookup itself failed; with names in PTR and none confirmed,
	//     a forward lookup did. Never set for NXDOMAIN or NODATA.
	PTR       []string
	Confirmed []string
	PTRLooked bool
	PTRErr    error
}

// Authenticated reports whether the client authenticated.
func (c *Conn) Authenticated() bool { return c.AuthUser != "" }

// Name returns the client's verified host name, or "unknown" as Postfix and
// smtpf print it when there is none.
func (c *Conn) Name() string {
	if len(c.Confirmed) > 0 {
		return c.Confirmed[0]
	}
	return "unknown"
}

// Helo holds the client's HELO or EHLO.
type Helo struct {
	Verb string // "HELO" or "EHLO"
	Name string // the argument as sent
	// Previous lists earlier, different HELO arguments of this session.
	Previous []string
}

// Address is a mail address split at its last '@'. The null sender is the
// zero Address.
type Address struct {
	Local  string
	Domain string
}

// ParseAddress splits a mail path's address (without angle brackets) into
// local part and domain. It does no grammar check: that is for the envelope
// checks, which may be strict or lenient. An address without '@' (such as
// "postmaster") has an empty Domain.
func ParseAddress(s string) Address {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return Address{Local: s}
	}
	return Address{Local: s[:i], Domain: s[i+1:]}
}

// IsNull reports the null reverse-path <>.
func (a Address) IsNull() bool { return a.Local == "" && a.Domain == "" }

// String returns local@domain, or "" for the null address.
func (a Address) String() string {
	if a.Domain == "" {
		return a.Local
	}
	return a.Local + "@" + a.Domain
}

// DomainFold returns the domain in lower case without a trailing dot.
func (a Address) DomainFold() string {
	return strings.TrimSuffix(strings.ToLower(a.Domain), ".")
}

// Mail holds the MAIL FROM command.
type Mail struct {
	From     Address
	Raw      string // the command line as received, when the server exposes it
	Size     int64  // SIZE= parameter, 0 when absent
	Body     string // BODY= parameter ("7BIT", "8BITMIME", "BINARYMIME"), "" when absent
	SMTPUTF8 bool   // SMTPUTF8 parameter
}

// HeaderField is one header field as received: its name and its unfolded
// value (without the CRLF that ends it).
type HeaderField struct {
	Name  string
	Value string
}

// Header is a message header in order of appearance.
type Header []HeaderField

// Get returns the first value of the named field (case-insensitive).
func (h Header) Get(name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Count returns how many fields have the given name.
func (h Header) Count(name string) int {
	n := 0
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			n++
		}
	}
	return n
}

// Body is message content that checks can read more than once: each call
// to Open returns a new reader from the start, so several checks read it in
// turn without the message being held in memory (a front-end may keep it in
// a file). Size is the number of octets Open reads.
type Body interface {
	Open() (io.ReadCloser, error)
	Size() int64
}

// BytesBody is a Body held in memory.
type BytesBody []byte

// Open returns a reader over the bytes.
func (b BytesBody) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }

// Size returns the length in bytes.
func (b BytesBody) Size() int64 { return int64(len(b)) }

// Protocol records how the client speaks SMTP, as seen by the server's
// listener: the facts behind postscreen-style protocol tests.
type Protocol struct {
	PreGreeting       bool // the client talked before the greeting
	PipeliningOffered bool // the server offered PIPELINING in its EHLO reply
	Pipelined         bool // the client sent a command before the reply to the previous one
	Errors            int  // commands answered with an error so far
	UnknownCommands   int  // unknown commands so far
}

// Session is what a check may look at: the facts of one SMTP session, filled
// stage by stage by the server adapter. Checks read it; the few facts checks
// share with later checks (an SPF result, a greylist triplet) go through
// Value and SetValue, which are safe for checks running in parallel.
type Session struct {
	Stage Stage
	Now   time.Time // when the current command arrived
	Conn  Conn
	Helo  Helo
	Proto Protocol
	Mail  *Mail     // nil before MAIL FROM
	Rcpt  Address   // the recipient being checked, at StageRcpt
	Rcpts []Address // recipients accepted so far in this transaction
	// The message, as every front-end sets it (SplitMessage does the
	// splitting, so all of them agree):
	//
	//   - Header, from StageHeaders on: the header fields, up to the empty
	//     line that ends the header (or the first line that is no field).
	//   - Body, at StageEndOfData: the octets after that empty line, as
	//     received after dot-unstuffing and still transfer-encoded (a
	//     base64 part is base64). A check of the content reads it with the
	//     top-level Content-Type and Content-Transfer-Encoding from Header.
	//   - Message, at StageEndOfData: the whole message as received after
	//     dot-unstuffing (header, empty line, body), for checks of its
	//     form: line endings, size.
	Header  Header
	Body    Body
	Message Body

	mu sync.Mutex
	// values holds what checks share; a session holds few, so a short
	// slice (backed by inline room for the usual number) beats a map.
	values []keyValue
	inline [4]keyValue
	// Verdicts held for RCPT (delayed rejection, defer-if-permit), one
	// slot per lifetime: the connection's, the current HELO's (a new HELO
	// replaces it) and the transaction's (RSET and MAIL end it).
	heldConnect *Result
	heldHelo    *Result
	heldTx      *Result
	heloRefused bool                  // the current HELO was refused, at once or held
	trace       atomic.Pointer[Trace] // the evaluation in progress, nil between evaluations
	traceBuf    Trace
}

type keyValue struct{ key, value any }

// Value returns a value a check stored with SetValue for this session.
func (s *Session) Value(key any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.values {
		if s.values[i].key == key {
			return s.values[i].value
		}
	}
	return nil
}

// SetValue stores a value for later checks of this session; use an unexported
// key type, as with context.WithValue.
func (s *Session) SetValue(key, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.values {
		if s.values[i].key == key {
			s.values[i].value = value
			return
		}
	}
	if s.values == nil {
		s.values = s.inline[:0]
	}
	s.values = append(s.values, keyValue{key, value})
}

// ValueOf returns the *T stored in s under key, storing a new zero T there
// first when there is none (or the value is of another type): the state a
// check family keeps per session, made on first use. Two checks that ask
// at once get the same *T.
func ValueOf[T any](s *Session, key any) *T {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.values {
		if s.values[i].key == key {
			v, ok := s.values[i].value.(*T)
			if !ok {
				v = new(T)
				s.values[i].value = v
			}
			return v
		}
	}
	if s.values == nil {
		s.values = s.inline[:0]
	}
	v := new(T)
	s.values = append(s.values, keyValue{key, v})
	return v
}

// Reset makes s a fresh Session again, as new(Session) is, keeping only
// the memory of its trace buffer, so a front-end that judges one short
// session after another (a policy service's requests) can reuse one
// Session and its trace without allocating either. Nothing may hold s
// (a check's goroutine, a log record) when it is reset.
func (s *Session) Reset() {
	steps := s.traceBuf.steps[:cap(s.traceBuf.steps)]
	clear(steps) // the earlier steps' results hold no memory alive
	*s = Session{}
	s.traceBuf.steps = steps[:0]
}

// ResetTransaction forgets the MAIL transaction (after RSET, a completed
// message or a new MAIL), keeping connection and HELO facts, and any verdict
// from connect or the current HELO still held for RCPT.
func (s *Session) ResetTransaction() {
	s.mu.Lock()
	s.heldTx = nil
	s.mu.Unlock()
	s.Mail = nil
	s.Rcpt = Address{}
	s.Rcpts = nil
	s.Header = nil
	s.Body = nil
	s.Message = nil
}

// SetHelo records a HELO/EHLO. The new HELO is the one judged from now on:
// any verdict held from the previous one is dropped, so a client that
// corrects a refused HELO (EHLO localhost, RSET, EHLO mx.example.org) is
// judged by its correction. An earlier different argument is kept in
// Helo.Previous, unless it was refused: replacing a refused name is a
// correction, not a change of identity.
func (s *Session) SetHelo(verb, name string) {
	s.mu.Lock()
	refused := s.heloRefused
	s.heldHelo, s.heloRefused = nil, false
	s.mu.Unlock()
	if s.Helo.Name != "" && !strings.EqualFold(s.Helo.Name, name) && !refused {
		s.Helo.Previous = append(s.Helo.Previous, s.Helo.Name)
	}
	s.Helo.Verb = strings.ToUpper(verb)
	s.Helo.Name = name
}

// LogValue makes sessions log as a compact group.
func (s *Session) LogValue() slog.Value {
	attrs := make([]slog.Attr, 3, 6)
	attrs[0] = slog.String("id", s.Conn.ID)
	attrs[1] = slog.String("stage", s.Stage.String())
	attrs[2] = slog.String("client", s.Conn.ClientIP.String())
	if s.Helo.Name != "" {
		attrs = append(attrs, slog.String("helo", s.Helo.Name))
	}
	if s.Mail != nil {
		attrs = append(attrs, slog.String("from", s.Mail.From.String()))
	}
	if s.Stage == StageRcpt {
		attrs = append(attrs, slog.String("rcpt", s.Rcpt.String()))
	}
	return slog.GroupValue(attrs...)
}
