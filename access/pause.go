package access

import (
	"context"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// GreetPause returns the pre-greeting pause the map sets for the session's
// client (smtpf's GreetPause: tag, looked up along the client chain: the
// address, its networks, the confirmed name and its parent domains): how
// long the server waits before its greeting, refusing a client that talks
// first. Zero turns the pause off for the client; ok false keeps the
// server's own setting. Its signature is the hook the go-smtp adapter takes.
func (a *Access) GreetPause(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
	return a.clientPeriod(TagGreetPause, s)
}

// CommandPause returns the pause the map sets before each reply to the
// client's commands (smtpf's CommandPause: tag): a client that sends its
// next command before the reply, without PIPELINING, shows itself. Zero
// turns the pause off; ok false keeps the server's own setting.
func (a *Access) CommandPause(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
	return a.clientPeriod(TagCommandPause, s)
}

// clientPeriod looks a period tag up along the client chain.
func (a *Access) clientPeriod(tag string, s *smtpcheck.Session) (time.Duration, bool) {
	m := a.Map()
	if !m.HasTag(tag) {
		return 0, false
	}
	name := ""
	if len(s.Conn.Confirmed) > 0 {
		name = s.Conn.Confirmed[0]
	}
	h := m.find(tag, appendClientChain(nil, Client{IP: s.Conn.ClientIP, Name: name}), true)
	if !h.Found() {
		return 0, false
	}
	return h.Value.Period, true
}
