// Package spamd scores messages with SpamAssassin's spamd over its SPAMC
// protocol, on a unix socket or TCP, with smtpf's spamd-* options.
//
// A Scanner sends "SYMBOLS SPAMC/1.5" with the message's Content-length and
// the message, and reads spamd's score, its required score and the rules that
// matched. Its Check turns the score into a verdict with the same Thresholds
// as the other scored checks (smtpcheck.Score, dnsbl): at Reject it refuses
// with smtpf#693's 550 5.7.1 "message ID junk mail score S/R", below that it
// tags, quarantines or defers at the thresholds set, and an accepted
// message gets X-Spam-Flag, X-Spam-Score, X-Spam-Level and X-Spam-Status
// headers naming the rules. A message whose sender's own filter marked it as
// spam (smtpf's spamd-reject-sender-marked-spam and
// spamd-sender-marked-spam) is refused without asking spamd (smtpf#678,
// #679). A failed exchange is answered under the check's error policy, with
// the catalog's 451 4.4.0 scanner replies when it is a temporary failure.
package spamd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/scan/internal/scanio"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Name is the check's name in traces and reasons.
const Name = "spamd"

// DefaultPort is spamd's TCP port, used when Config.Address gives none.
const DefaultPort = "783"

// DefaultTimeout bounds one scan when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// DefaultMaxSize is the largest message scanned when Config.MaxSize is zero:
// spamc's default (500 KB). Spam is small; a larger message is passed
// unscored, as spamc passes it.
const DefaultMaxSize = 500 << 10

// DefaultReject is the score that refuses a message when Config.Thresholds
// is the zero value (smtpf's spamd-score-reject default).
const DefaultReject = 10

// Config configures a Scanner.
type Config struct {
	// Address is spamd's socket (spamd-socket): a unix socket path
	// ("/run/spamd.sock" or "unix:/path"), or host[:port] for TCP (port
	// 783 when omitted).
	Address string
	// User is sent as spamd's User: header, choosing whose preferences
	// score the message; empty sends none.
	User string
	// Timeout bounds one scan, connection to answer (spamd-timeout); zero
	// means DefaultTimeout. The caller's deadline applies if earlier.
	Timeout time.Duration
	// MaxSize is the largest message sent (spamd-max-size); larger ones
	// pass unscored. Zero means DefaultMaxSize; negative, no limit.
	MaxSize int64
	// Thresholds turn the score into a verdict, as in smtpcheck.Score:
	// Reject is smtpf's spamd-score-reject. Tag at zero tags what spamd
	// itself calls spam (its required_score). The zero value means Reject
	// at DefaultReject; math.Inf(1) never rejects (smtpf's -1).
	Thresholds smtpcheck.Thresholds
	// RejectSenderMarkedSpam refuses a message whose sender's own
	// X-Spam-Status header claims a score at or over Thresholds.Reject
	// (smtpf's spamd-reject-sender-marked-spam, smtpf#678).
	RejectSenderMarkedSpam bool
	// SenderMarkedSpam refuses a message that arrives with "X-Spam-Flag:
	// YES" from the sender (smtpf's spamd-sender-marked-spam, smtpf#679).
	SenderMarkedSpam bool
	// OnError is what a failed exchange does: FailOpen (the zero value,
	// and smtpf's behaviour) accepts unscored and logs, FailTemp answers
	// with the catalog's 451 4.4.0 scanner reply, FailClosed refuses.
	OnError smtpcheck.ErrorPolicy
	// Logger receives a line per scored message and per failed exchange;
	// nil means discard.
	Logger *slog.Logger
}

// Scanner talks to one spamd. It is safe for concurrent use: every scan has
// its own connection.
type Scanner struct {
	cfg  Config
	addr scanio.Address
	log  *slog.Logger
}

// New returns a Scanner for cfg. It fails on an address it cannot read or a
// User that would break the request.
func New(cfg Config) (*Scanner, error) {
	a, err := scanio.ParseAddress(cfg.Address, DefaultPort)
	if err != nil {
		return nil, fmt.Errorf("spamd: %w", err)
	}
	if strings.ContainsAny(cfg.User, "\r\n") {
		return nil, fmt.Errorf("spamd: user %q holds a line break", cfg.User)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Thresholds == (smtpcheck.Thresholds{}) {
		cfg.Thresholds.Reject = DefaultReject
	}
	c := &Scanner{cfg: cfg, addr: a, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Error is a failed exchange with spamd: the step that failed, spamd's
// status line when there was one, and the cause. Reply gives the catalog's
// reply for it.
type Error struct {
	// Op is the step: "address", "open", "connect", "write", "session
	// read" (the answer), or "result" (an answer that is a refusal or
	// garbage).
	Op string
	// Answer is spamd's status line, for Op "result".
	Answer string
	Err    error
}

func (e *Error) Error() string {
	s := "spamd " + e.Op + ": " + e.Err.Error()
	if e.Answer != "" && !strings.Contains(s, e.Answer) {
		s += fmt.Sprintf(" (answer %q)", e.Answer)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Reply returns the catalog's temporary reply for the failure:
//
//	address, open, connect, write, session read: 451 4.4.0 spamd <op> error: <detail> (<errno>)
//	answer too long:                             451 4.4.0 spamd buffer overflow
//	refusal or garbage:                          451 4.4.0 unexpected spamd result: <status line>
func (e *Error) Reply() reply.Reply {
	var se *StatusError
	switch {
	case errors.Is(e.Err, ErrOverflow):
		return reply.ScannerBufferOverflow(Name)
	case errors.Is(e.Err, ErrUnexpected), errors.As(e.Err, &se):
		return reply.ScannerUnexpected(Name, e.Answer)
	}
	return reply.ScannerError(Name, e.Op, scanio.Detail(e.Err), scanio.Errno(e.Err))
}

// Scan sends the size octets of msg to spamd and returns its verdict. The
// exchange ends at ctx's deadline or the Scanner's Timeout, whichever is
// sooner. Every error is an *Error (a failure to read msg is a "write"
// error).
func (c *Scanner) Scan(ctx context.Context, msg io.Reader, size int64) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
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
	head := "SYMBOLS SPAMC/1.5\r\nContent-length: " + strconv.FormatInt(size, 10) + "\r\n"
	if c.cfg.User != "" {
		head += "User: " + c.cfg.User + "\r\n"
	}
	head += "\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		return Verdict{}, &Error{Op: "write", Err: err}
	}
	n, err := io.Copy(conn, io.LimitReader(msg, size))
	if err == nil && n < size {
		err = fmt.Errorf("message shorter (%d octets) than its size %d", n, size)
	}
	if err != nil {
		return Verdict{}, &Error{Op: "write", Err: err}
	}
	// spamd reads Content-length octets; the half-close tells an older
	// one that reads to the end.
	scanio.CloseWrite(conn)
	v, err := ParseReply(conn)
	if err != nil {
		var se *StatusError
		if errors.Is(err, ErrUnexpected) || errors.Is(err, ErrOverflow) || errors.As(err, &se) {
			return v, &Error{Op: "result", Answer: v.Status, Err: err}
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return v, &Error{Op: "session read", Err: err}
	}
	return v, nil
}

// off reports a threshold that is not set (zero) or never reached (+Inf).
func off(t float64) bool { return t <= 0 || math.IsInf(t, 1) }
