package postscreen

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/access/postfix"
)

// TestAction is what a failed test does (postscreen_*_action).
type TestAction uint8

// The actions, as postscreen(8) defines them.
const (
	// Ignore logs the failure and lets the client on, but the test is not
	// passed: the client takes it again next time.
	Ignore TestAction = iota
	// Enforce lets the session go on and refuses every RCPT TO with
	// 550 5.5.1, so the refusal is logged with the sender and recipient.
	Enforce
	// Drop answers 521 and disconnects at once.
	Drop
)

var actionNames = [...]string{"ignore", "enforce", "drop"}

// String returns the action's name.
func (a TestAction) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// ParseAction reads "ignore", "enforce" or "drop", in any case.
func ParseAction(s string) (TestAction, error) {
	for i, n := range actionNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return TestAction(i), nil
		}
	}
	return 0, fmt.Errorf("postscreen: action %q: want ignore, enforce or drop", s)
}

// Access is postscreen_access_list's answer for a client.
type Access uint8

// The answers.
const (
	Dunno  Access = iota // no entry matched: the client takes the tests
	Permit               // allowlisted: no test, straight to the server
	Deny                 // denylisted: refused (postscreen_blacklist_action)
)

var accessNames = [...]string{"dunno", "permit", "deny"}

// String returns the answer's name.
func (a Access) String() string {
	if int(a) < len(accessNames) {
		return accessNames[a]
	}
	return fmt.Sprintf("access(%d)", uint8(a))
}

// AccessList is postscreen_access_list: entries tried in order until one
// answers permit or deny.
type AccessList []AccessEntry

// AccessEntry is one entry: permit_mynetworks, or a table (cidr: in
// practice) whose values are permit, reject (or a 5xx code) and dunno.
type AccessEntry struct {
	// MyNetworks, when set, makes this entry permit_mynetworks: the
	// client's address in one of these networks is permitted.
	MyNetworks []netip.Prefix
	// Table is looked up with the client's address.
	Table postfix.Table
}

// Lookup returns the list's answer for ip and the entry that gave it
// ("permit_mynetworks" or the table's name), for the log.
func (l AccessList) Lookup(ip netip.Addr) (Access, string) {
	ip = ip.Unmap()
	for _, e := range l {
		if e.MyNetworks != nil {
			for _, p := range e.MyNetworks {
				if p.Contains(ip) {
					return Permit, "permit_mynetworks"
				}
			}
		}
		if e.Table == nil {
			continue
		}
		a, ok := e.Table.Find(ip.String())
		if !ok {
			continue
		}
		switch verdict := accessOf(a); verdict {
		case Permit, Deny:
			return verdict, e.Table.Name()
		}
	}
	return Dunno, ""
}

// accessOf reads a table value: permit (or OK), reject (or a 4xx/5xx
// code), anything else dunno.
func accessOf(a postfix.TableAction) Access {
	switch a.Verb {
	case postfix.OK:
		return Permit
	case postfix.Reject, postfix.Code:
		return Deny
	}
	// permit is no access(5) verb: it reads as restrictions to apply.
	switch strings.ToLower(strings.TrimSpace(a.String())) {
	case "permit":
		return Permit
	case "reject", "deny":
		return Deny
	}
	return Dunno
}

// Config configures a Screen.
type Config struct {
	// Cache remembers passes; nil makes every client take every test.
	Cache *Cache
	// Access is postscreen_access_list.
	Access AccessList
	// Enabled are the tests this server runs: a client whose passes of all
	// of them are current pays none (postscreen's PASS OLD).
	Enabled Tests
	// Actions per test (Ignore when unset).
	Actions [numTests]TestAction
	// DenylistAction is what a client the access list denies gets
	// (postscreen_denylist_action): Ignore (Postfix's default) lets it take
	// the tests as if unlisted, Enforce refuses its recipients with
	// 550 5.3.2, Drop answers 521 5.3.2 and hangs up.
	DenylistAction TestAction
	// ReconnectAfterDeep is postscreen's rule for the deep tests: a client
	// that passes them in this connection gets 450 4.3.2 at RCPT TO and is
	// let through when it reconnects (its passes are then cached). Off,
	// it goes on in the same connection.
	ReconnectAfterDeep bool
	// GreetBanner, when set, is the text of a first greeting line
	// "220-text" sent before the pregreet pause (postscreen_greet_banner),
	// so a bot that talks on seeing the first line fails the test. It
	// must hold no CR or LF.
	GreetBanner string
	// Forbidden are the commands of the non-SMTP test
	// (postscreen_forbidden_commands); nil means Postfix's default, CONNECT,
	// GET and POST. A line that looks like a header field (a word ending in
	// ':', such as an HTTP request's Host: or User-Agent:) always counts.
	Forbidden []string
}

// DefaultForbidden is postscreen_forbidden_commands' default.
var DefaultForbidden = []string{"CONNECT", "GET", "POST"}

// NonSMTP reports whether a command verb fails the non-SMTP command test.
func (s *Screen) NonSMTP(verb string) bool {
	if strings.HasSuffix(verb, ":") && len(verb) > 1 {
		return true
	}
	forbidden := s.cfg.Forbidden
	if forbidden == nil {
		forbidden = DefaultForbidden
	}
	for _, f := range forbidden {
		if strings.EqualFold(f, verb) {
			return true
		}
	}
	return false
}

// Screen runs the bookkeeping of postscreen's tests for each connection.
type Screen struct{ cfg Config }

// New returns a Screen.
func New(cfg Config) *Screen { return &Screen{cfg: cfg} }

// Config returns the screen's configuration.
func (s *Screen) Config() Config { return s.cfg }

// Action returns what a failure of t does.
func (s *Screen) Action(t Test) TestAction {
	if t < numTests {
		return s.cfg.Actions[t]
	}
	return Ignore
}

// Start is how a connection begins: what the access list said and which
// tests the client must take.
type Start struct {
	Access Access
	Entry  string // the access-list entry that answered
	Todo   Tests  // the enabled tests whose pass is not current
	Cached bool   // the client's passes of every enabled test (one at least) are current
	Err    error  // the cache could not be read: every test runs
}

// Begin looks the client up: the access list first, then (for a client
// not listed) the pass cache, with one read.
func (s *Screen) Begin(ctx context.Context, ip netip.Addr) Start {
	if a, entry := s.cfg.Access.Lookup(ip); a != Dunno {
		return Start{Access: a, Entry: entry}
	}
	if s.cfg.Cache == nil {
		return Start{Todo: s.cfg.Enabled}
	}
	e, err := s.cfg.Cache.Lookup(ctx, ip)
	if err != nil {
		return Start{Todo: s.cfg.Enabled, Err: err}
	}
	todo := e.Todo(s.cfg.Enabled, s.cfg.Cache.Now())
	// With no test enabled there is nothing the cache could vouch for.
	return Start{Todo: todo, Cached: todo == 0 && s.cfg.Enabled != 0}
}

// Finish records what the connection's tests showed: passed tests get a
// fresh expiry, failed ones are forgotten. Nothing is written for a client
// the cache already vouched for.
func (s *Screen) Finish(ctx context.Context, ip netip.Addr, passed, failed Tests, dnsTTL time.Duration) error {
	if s.cfg.Cache == nil {
		return nil
	}
	return s.cfg.Cache.Record(ctx, ip, passed&s.cfg.Enabled, failed&s.cfg.Enabled, dnsTTL)
}
