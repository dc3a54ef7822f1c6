package gosmtp

import (
	"context"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/internal/deadline"
	"github.com/smtppolicy/smtppolicy/postscreen"
	"github.com/smtppolicy/smtppolicy/reply"
)

// screenState is one connection's run of postscreen's tests: which it must
// take (the rest are cached) and what it did. It is guarded by the
// trackedConn's mutex.
type screenState struct {
	todo      postscreen.Tests
	failed    postscreen.Tests
	paused    bool // the pregreet pause ran
	connectOK bool // the connect stage (the DNS lists) passed
	sawRcpt   bool // the client reached RCPT TO: the deep tests are done
	drop      bool // a test failed under drop: 521 and hang up
	// allowlisted is set when the DNS allowlists vouched for the client
	// (postscreen_dnsbl_allowlist_threshold): it skips the other tests.
	allowlisted bool
}

// screenConnect looks the client up in the access list and the pass cache.
// It returns the refusal for a denylisted client, and whether the greet
// pause is off for this client (allowlisted, or its pregreet pass is
// current).
func (s *session) screenConnect(c *trackedConn) (refusal []byte, noPause bool) {
	sc := s.b.cfg.Postscreen
	if sc == nil {
		return nil, false
	}
	ctx, cancel := deadline.WithTimeout(s.ctx, s.b.cfg.CommandTimeout)
	st := sc.Begin(ctx, s.s.Conn.ClientIP)
	cancel()
	postscreen.MarkScreened(s.s)
	log := s.b.log.With("session", s.s.Conn.ID, "client", s.s.Conn.ClientIP.String(), "check", postscreen.Name)
	if st.Err != nil {
		log.Warn("pass cache unreadable; every test runs", "error", st.Err)
	}
	if st.Access == postscreen.Deny {
		// postscreen_denylist_action: the client is refused, or takes the
		// tests as if unlisted (ignore); its passes are not looked up.
		action := sc.Config().DenylistAction
		log.Info("denylisted", "entry", st.Entry, "action", action.String())
		switch action {
		case postscreen.Drop:
			return reply.PostscreenDenylisted().AppendTo(nil), true
		case postscreen.Enforce:
			postscreen.MarkEnforcedReply(s.s, postscreen.DNSBL, reply.PostscreenDenylistedEnforce())
		}
		st = postscreen.Start{Todo: sc.Config().Enabled}
	}
	switch {
	case st.Access == postscreen.Permit:
		log.Debug("allowlisted: no tests", "entry", st.Entry)
		postscreen.MarkPassed(s.s, st.Entry)
		return nil, true
	case st.Cached:
		log.Debug("pass cache: every test passed recently")
		if sc.Config().Enabled.Has(postscreen.DNSBL) {
			// The DNS lists' pass is cached too: they may skip the
			// client. Lists the screen does not know of still run.
			postscreen.MarkPassed(s.s, "cache")
		}
		return nil, true
	}
	c.mu.Lock()
	c.screen = &screenState{todo: st.Todo}
	c.mu.Unlock()
	return nil, !st.Todo.Has(postscreen.Pregreet)
}

// screenLine runs the deep tests on one command line (c.mu held): bare is
// a line ended by LF alone.
func (c *trackedConn) screenLine(line, verb string, bare bool) {
	st := c.screen
	if st == nil {
		return
	}
	if bare && st.todo.Has(postscreen.BareNewline) {
		c.screenFail(postscreen.BareNewline, line)
	}
	if st.todo.Has(postscreen.NonSMTP) && c.sess.b.cfg.Postscreen.NonSMTP(verb) {
		c.screenFail(postscreen.NonSMTP, line)
	}
	if c.sess.s.Proto.Pipelined && st.todo.Has(postscreen.Pipelining) {
		c.screenFail(postscreen.Pipelining, line)
	}
	if verb == "RCPT" {
		st.sawRcpt = true
		if st.todo&postscreen.Deep != 0 && st.failed&postscreen.Deep == 0 && c.sess.b.cfg.Postscreen.Config().ReconnectAfterDeep {
			postscreen.MarkReconnect(c.sess.s)
		}
	}
}

// screenFail applies a failed test's action (c.mu held).
func (c *trackedConn) screenFail(t postscreen.Test, line string) {
	st := c.screen
	if st.failed.Has(t) {
		return
	}
	st.failed = st.failed.With(t)
	action := c.sess.b.cfg.Postscreen.Action(t)
	if len(line) > 100 {
		line = line[:100]
	}
	c.sess.b.log.Info("postscreen test failed", "session", c.sess.s.Conn.ID, "client", c.sess.s.Conn.ClientIP.String(),
		"check", postscreen.Name, "test", t.String(), "action", action.String(), "line", line)
	switch action {
	case postscreen.Enforce:
		postscreen.MarkEnforced(c.sess.s, t)
	case postscreen.Drop:
		st.drop = true
	}
}

// screenDrop reports a drop decided on the bytes just read; the caller
// then answers 521 and hangs up.
func (c *trackedConn) screenDrop() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.screen != nil && c.screen.drop
}

// dropReply answers 521 and closes the connection, with postscreen's
// words for a non-SMTP command.
func (c *trackedConn) dropReply() {
	c.mu.Lock()
	nonSMTP := c.screen != nil && c.screen.failed.Has(postscreen.NonSMTP) && c.sess.b.cfg.Postscreen.Action(postscreen.NonSMTP) == postscreen.Drop
	c.mu.Unlock()
	r := reply.ProtocolErrorDrop()
	if nonSMTP {
		r = reply.NonSMTPCommandDrop()
	}
	c.Conn.Write(r.AppendTo(nil))
	c.Conn.Close()
}

// screenFinish records what the connection showed in the pass cache:
// pregreet passed when the pause ran in silence, the DNS lists when the
// connect stage passed, the deep tests when the client reached RCPT TO
// without failing them (postscreen's rule). Failed tests are forgotten,
// whatever their action, so the client takes them again.
func (c *trackedConn) screenFinish() {
	sc := c.sess.b.cfg.Postscreen
	c.mu.Lock()
	st := c.screen
	c.screen = nil
	c.mu.Unlock()
	if sc == nil || st == nil {
		return
	}
	failed := st.failed
	var passed postscreen.Tests
	if st.todo.Has(postscreen.Pregreet) && st.paused {
		if c.sess.s.Proto.PreGreeting {
			failed = failed.With(postscreen.Pregreet)
		} else {
			passed = passed.With(postscreen.Pregreet)
		}
	}
	if st.todo.Has(postscreen.DNSBL) && st.connectOK {
		passed = passed.With(postscreen.DNSBL)
	}
	if st.sawRcpt {
		passed |= st.todo & postscreen.Deep &^ failed
	}
	// Tests failed outside the listener (the DNS lists under ignore or
	// enforce) are not passes.
	failed |= postscreen.Failed(c.sess.s)
	passed &^= failed
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cache := sc.Config().Cache; st.allowlisted && failed == 0 && cache != nil {
		// As postscreen does: every enabled test counts as passed for as
		// long as the DNS lists' answer is kept.
		if err := cache.PassAll(ctx, c.sess.s.Conn.ClientIP, sc.Config().Enabled, cache.TTLs().DNSBLMax); err != nil {
			c.sess.b.log.Warn("pass cache not updated", "session", c.sess.s.Conn.ID, "error", err)
		}
		return
	}
	if err := sc.Finish(ctx, c.sess.s.Conn.ClientIP, passed, failed, 0); err != nil {
		c.sess.b.log.Warn("pass cache not updated", "session", c.sess.s.Conn.ID, "error", err)
	}
}

// screenConnected notes how the connect stage went: whether the pregreet
// pause ran and whether the connect-stage checks (the DNS lists) passed. A
// client the DNS allowlists vouched for skips the deep tests.
func (c *trackedConn) screenConnected(paused, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.screen != nil {
		c.screen.paused, c.screen.connectOK = paused, ok
		if postscreen.PassedWhy(c.sess.s) == postscreen.DNSAllowlisted {
			c.screen.allowlisted = true
			c.screen.todo &^= postscreen.Deep
		}
	}
}

// screenPregreet applies postscreen_greet_action to a client that talked
// during the pregreet pause: it reports a drop (the caller answers 521 and
// hangs up); enforce refuses its recipients; ignore lets it on, untrusted.
func (c *trackedConn) screenPregreet() (drop bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.screen
	if st == nil || !st.todo.Has(postscreen.Pregreet) || !c.sess.s.Proto.PreGreeting {
		return false
	}
	c.screenFail(postscreen.Pregreet, "")
	if st.drop {
		st.drop = false // answered here, not by the command reader
		return true
	}
	return false
}

// screenBanner sends the first line of a multi-line greeting before the
// pregreet pause (postscreen_greet_banner): a bot that answers the first
// line it sees talks before the greeting is complete.
func (c *trackedConn) screenBanner() {
	sc := c.sess.b.cfg.Postscreen
	c.mu.Lock()
	on := sc != nil && c.screen != nil && c.screen.todo.Has(postscreen.Pregreet) && sc.Config().GreetBanner != ""
	c.mu.Unlock()
	if on {
		c.Conn.Write([]byte("220-" + sc.Config().GreetBanner + "\r\n"))
	}
}
