// Package clamd scans messages for viruses with ClamAV's clamd daemon over
// its INSTREAM protocol, on a unix socket or TCP, as smtpf's clamd-socket,
// clamd-timeout and clamd-policy options do.
//
// A Scanner sends the whole message in chunks (a 4-octet big-endian length,
// then the octets; a zero length ends the stream) after "zINSTREAM\0" and
// reads one answer: "stream: OK", "stream: <name> FOUND", or an ERROR. Its
// Check turns that into a verdict with the catalog's replies: smtpf's
// 550 5.7.1 for a virus (smtpf#208), and for every way the exchange can
// fail (clamd down, slow, answering garbage or over its stream size limit)
// the 451 4.4.0 reply that names the failed step (smtpf#178-#206), under the
// check's error policy. Nothing waits past the check's deadline.
package clamd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/scan/internal/scanio"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Name is the check's name in traces and reasons.
const Name = "clamd"

// DefaultPort is clamd's TCP port, used when Config.Address gives none.
const DefaultPort = "3310"

// DefaultTimeout bounds one scan when Config.Timeout is zero (smtpf's
// clamd-timeout is 120 s; a message should not wait that long at DATA).
const DefaultTimeout = 60 * time.Second

// DefaultMaxSize is how much of a message is sent when Config.MaxSize is
// zero (smtpf's clamd-max-size, 10000 KB): viruses travel in small messages,
// and clamd refuses streams over its StreamMaxLength.
const DefaultMaxSize = 10000 << 10

// chunkSize is the INSTREAM chunk: large enough that a typical message is
// one or two writes.
const chunkSize = 64 << 10

// Config configures a Scanner.
type Config struct {
	// Address is clamd's socket (clamd-socket): a unix socket path
	// ("/run/clamav/clamd.ctl" or "unix:/path"), or host[:port] for TCP
	// (port 3310 when omitted).
	Address string
	// Timeout bounds one scan, connection to answer (clamd-timeout); zero
	// means DefaultTimeout. The caller's deadline applies if earlier.
	Timeout time.Duration
	// MaxSize is how many octets of a message are sent (clamd-max-size);
	// the rest is not scanned. Zero means DefaultMaxSize; negative sends
	// everything.
	MaxSize int64
	// OnFound is what a virus does (clamd-policy, see ParseAction): Reject
	// (the zero value is taken as Reject) with smtpf#208's 550 5.7.1,
	// Discard, Quarantine, or Tag (accept with an X-Virus-Found header).
	OnFound smtpcheck.Action
	// OnError is what a failed exchange does: FailOpen (the zero value)
	// accepts and logs, FailTemp answers with the catalog's 451 4.4.0
	// reply for the failed step (smtpf's behaviour), FailClosed refuses.
	OnError smtpcheck.ErrorPolicy
	// Logger receives a line per virus found and per failed exchange; nil
	// means discard.
	Logger *slog.Logger
}

// Scanner talks to one clamd. It is safe for concurrent use: every scan has
// its own connection.
type Scanner struct {
	addr    scanio.Address
	timeout time.Duration
	maxSize int64
	onFound smtpcheck.Action
	onError smtpcheck.ErrorPolicy
	log     *slog.Logger
	bufs    sync.Pool // chunk buffers, so a scan allocates none in the steady state
}

// New returns a Scanner for cfg. It fails on an address it cannot read or an
// OnFound that is not a verdict on a message.
func New(cfg Config) (*Scanner, error) {
	a, err := scanio.ParseAddress(cfg.Address, DefaultPort)
	if err != nil {
		return nil, fmt.Errorf("clamd: %w", err)
	}
	c := &Scanner{addr: a, timeout: cfg.Timeout, maxSize: cfg.MaxSize, onFound: cfg.OnFound, onError: cfg.OnError, log: cfg.Logger}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxSize == 0 {
		c.maxSize = DefaultMaxSize
	}
	switch c.onFound {
	case smtpcheck.Continue, smtpcheck.Reject, smtpcheck.Discard, smtpcheck.Quarantine, smtpcheck.Tag:
	default:
		return nil, fmt.Errorf("clamd: OnFound %v is not a verdict on a message", c.onFound)
	}
	if c.onFound == smtpcheck.Continue {
		c.onFound = smtpcheck.Reject
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// ParseAction reads a clamd-policy word: smtpf's "reject", "discard" and
// "none", and "quarantine". smtpf's "none" lets the message
// through with the virus logged; here it is Tag, which also marks the
// message with an X-Virus-Found header for the mailbox's filters.
func ParseAction(s string) (smtpcheck.Action, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "reject":
		return smtpcheck.Reject, nil
	case "discard":
		return smtpcheck.Discard, nil
	case "quarantine":
		return smtpcheck.Quarantine, nil
	case "none", "tag":
		return smtpcheck.Tag, nil
	}
	return 0, fmt.Errorf("clamd: unknown policy %q (want reject, discard, quarantine or none)", s)
}

// Error is a failed exchange with clamd: the step that failed, how much of
// the message had been sent, clamd's answer when there was one, and the
// cause. Reply gives the catalog's reply for it.
type Error struct {
	// Op is the step, in smtpf's words: "address", "open", "connect",
	// "write" (the command), "session write" (the message), "session read"
	// (the answer), or "result" (an answer that is an error or garbage).
	Op string
	// Sent is the number of message octets written before the failure.
	Sent int64
	// Answer is clamd's answer, for Op "result".
	Answer string
	Err    error
}

func (e *Error) Error() string {
	s := "clamd " + e.Op + ": " + e.Err.Error()
	if e.Answer != "" {
		s += fmt.Sprintf(" (answer %q)", e.Answer)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Reply returns the catalog's temporary reply for the failure:
//
//	address, open, connect, write, session read: 451 4.4.0 clamd <op> error: <detail> (<errno>)  smtpf#178-#180, #185, #204
//	session write, size limit:                   451 4.4.0 clamd session write error after N bytes  smtpf#196, #199
//	answer too long:                             451 4.4.0 clamd buffer overflow  smtpf#181
//	ERROR or garbage:                            451 4.4.0 unexpected clamd result: <answer>  smtpf#206
func (e *Error) Reply() reply.Reply {
	switch {
	case errors.Is(e.Err, ErrOverflow):
		return reply.ScannerBufferOverflow(Name)
	case errors.Is(e.Err, ErrSizeLimit), e.Op == "session write":
		return reply.ScannerWriteAfter(Name, e.Sent)
	case errors.Is(e.Err, ErrUnexpected), errors.Is(e.Err, ErrScanFailed):
		return reply.ScannerUnexpected(Name, e.Answer)
	}
	return reply.ScannerError(Name, e.Op, scanio.Detail(e.Err), scanio.Errno(e.Err))
}

// Scan streams r to clamd and returns its verdict. The exchange ends at
// ctx's deadline or the Scanner's Timeout, whichever is sooner. A failed
// exchange with clamd is an *Error; a failure to read r is returned as it
// is.
func (c *Scanner) Scan(ctx context.Context, r io.Reader) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := scanio.Dial(ctx, c.addr)
	if err != nil {
		op := "connect"
		switch {
		case scanio.IsOpenError(err):
			op = "open"
		case scanio.IsAddressError(err):
			op = "address"
		}
		return Verdict{}, &Error{Op: op, Err: err}
	}
	defer conn.Close()

	// One buffer holds a chunk's length prefix and its octets, so each
	// chunk is one write.
	bp, _ := c.bufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 4+chunkSize)
		bp = &b
	}
	defer c.bufs.Put(bp)
	buf := *bp
	if _, err := io.WriteString(conn, "zINSTREAM\x00"); err != nil {
		return Verdict{}, &Error{Op: "write", Err: err}
	}
	if c.maxSize > 0 {
		r = io.LimitReader(r, c.maxSize)
	}
	var sent int64
	for {
		n, rerr := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf, uint32(n))
			if _, err := conn.Write(buf[:4+n]); err != nil {
				// clamd closes the stream when it is over its size
				// limit, after saying so: its answer explains the
				// failed write better than the write does.
				if v, perr := c.answer(conn); perr != nil && errors.Is(perr, ErrSizeLimit) {
					return v, &Error{Op: "session write", Sent: sent, Answer: v.Reply, Err: perr}
				}
				return Verdict{}, &Error{Op: "session write", Sent: sent, Err: err}
			}
			sent += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return Verdict{}, fmt.Errorf("clamd: read message: %w", rerr)
		}
	}
	binary.BigEndian.PutUint32(buf, 0)
	if _, err := conn.Write(buf[:4]); err != nil {
		if v, perr := c.answer(conn); perr != nil && errors.Is(perr, ErrSizeLimit) {
			return v, &Error{Op: "session write", Sent: sent, Answer: v.Reply, Err: perr}
		}
		return Verdict{}, &Error{Op: "session write", Sent: sent, Err: err}
	}
	v, err := c.answer(conn)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return v, err
		}
		return v, &Error{Op: "result", Sent: sent, Answer: v.Reply, Err: err}
	}
	return v, nil
}

// answer reads clamd's one answer, up to its NUL terminator (or the end of
// the connection).
func (c *Scanner) answer(conn io.Reader) (Verdict, error) {
	br := bufio.NewReaderSize(io.LimitReader(conn, maxReply+1), 256)
	line, err := br.ReadString(0)
	if err != nil && err != io.EOF {
		return Verdict{}, &Error{Op: "session read", Err: err}
	}
	if line == "" {
		return Verdict{}, &Error{Op: "session read", Err: io.ErrUnexpectedEOF}
	}
	return ParseReply(line)
}
