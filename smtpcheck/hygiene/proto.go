package hygiene

import (
	"context"
	"strconv"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Check names of the protocol checks.
const (
	NameGreetPause = "greet-pause"
	NamePipelining = "command-pause"
	NameErrorLimit = "error-limit"
)

// GreetPauseConfig configures GreetPause.
type GreetPauseConfig struct{}

// GreetPause refuses a client that talked before the greeting
// (Session.Proto.PreGreeting, set by the server's listener): RFC 5321 3.1
// forbids it and spam software does it (smtpf GreetPause, postscreen's
// pregreet test). 550 5.7.1 (smtpf#420).
func GreetPause(cfg GreetPauseConfig) smtpcheck.Check { return greetPauseTest(cfg).check() }

func greetPauseTest(_ GreetPauseConfig) test {
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if !s.Proto.PreGreeting {
			return nil
		}
		return ptr(refuse(reply.PreGreetingTraffic(s.Conn.Name(), clientIP(s)), NameGreetPause, "GreetPause", clientIP(s)))
	}
}

// PipeliningConfig configures Pipelining.
type PipeliningConfig struct {
	// Strict refuses any command sent before the previous reply, even with
	// PIPELINING offered (smtpf's CommandPause); by default only clients
	// that pipeline without the offer are refused (RFC 2920).
	Strict bool
}

// Pipelining refuses a client that sent commands before the reply to the
// previous one when PIPELINING was not offered (Session.Proto, from the
// server's listener). 550 5.3.3 (smtpf#631).
func Pipelining(cfg PipeliningConfig) smtpcheck.Check { return pipeliningTest(cfg).check() }

func pipeliningTest(cfg PipeliningConfig) test {
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if !s.Proto.Pipelined || (s.Proto.PipeliningOffered && !cfg.Strict) {
			return nil
		}
		return ptr(refuse(reply.PipeliningNotAllowed(), NamePipelining, "CommandPause", clientIP(s)))
	}
}

// ErrorLimitConfig configures ErrorLimit.
type ErrorLimitConfig struct {
	// MaxErrors is how many error replies a session may get; zero means 20
	// (Postfix's smtpd_hard_error_limit).
	MaxErrors int
	// MaxUnknown is how many unknown commands a session may send; zero
	// means 5 (postscreen counts one as a non-SMTP client).
	MaxUnknown int
}

// ErrorLimit disconnects a client past the error or unknown-command limit
// with 421 4.7.0 (Postfix "Error: too many errors").
func ErrorLimit(cfg ErrorLimitConfig) smtpcheck.Check { return errorLimitTest(cfg).check() }

func errorLimitTest(cfg ErrorLimitConfig) test {
	maxErr, maxUnk := cfg.MaxErrors, cfg.MaxUnknown
	if maxErr <= 0 {
		maxErr = 20
	}
	if maxUnk <= 0 {
		maxUnk = 5
	}
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		var what string
		switch {
		case s.Proto.Errors >= maxErr:
			what = "errors=" + strconv.Itoa(s.Proto.Errors)
		case s.Proto.UnknownCommands >= maxUnk:
			what = "unknown=" + strconv.Itoa(s.Proto.UnknownCommands)
		default:
			return nil
		}
		r := refuse(reply.TooManyErrors(), NameErrorLimit, "smtpd_hard_error_limit", what)
		r.Action, r.Immediate = smtpcheck.Disconnect, true
		return &r
	}
}
