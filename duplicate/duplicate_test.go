package duplicate_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/duplicate"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

const message = "From: alice@example.net\r\nTo: bob@example.org\r\nSubject: hi\r\nMessage-ID: <dup-1@example.net>\r\n\r\nHello Bob.\r\n"

func session(t testing.TB, msg string, rcpts ...string) *smtpcheck.Session {
	t.Helper()
	h, body, err := smtpcheck.SplitMessage(smtpcheck.BytesBody(msg))
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Header: h, Body: body, Message: smtpcheck.BytesBody(msg)}
	s.Conn.ID = "T1"
	s.Mail = &smtpcheck.Mail{From: smtpcheck.ParseAddress("alice@example.net")}
	for _, r := range rcpts {
		s.Rcpts = append(s.Rcpts, smtpcheck.ParseAddress(r))
	}
	return s
}

// Every store the package offers refuses the second copy: the check's
// record must be shared by a cluster.
func TestStores(t *testing.T) {
	stores := map[string]func(t *testing.T) store.Store{
		"memory": func(t *testing.T) store.Store { return store.NewMemory(store.MemoryOptions{}) },
		"bolt": func(t *testing.T) store.Store {
			s, err := boltstore.Open(filepath.Join(t.TempDir(), "dup.db"), boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"redis": func(t *testing.T) store.Store {
			c := redistest.Client(t, "")
			return redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(t, c)})
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			c, err := duplicate.New(duplicate.Config{Store: open(t)})
			if err != nil {
				t.Fatal(err)
			}
			check := c.Check()
			first := session(t, message, "bob@example.org")
			if r := check(t.Context(), first); r.Action != smtpcheck.Continue {
				t.Fatalf("first copy: %v %s", r.Action, r.Reason)
			}
			// Claims, their release and the record behave alike in
			// every store.
			other := session(t, message, "bob@example.org")
			other.Conn.ID = "T2"
			if r := check(t.Context(), other); r.Action != smtpcheck.TempFail {
				t.Fatalf("copy while the first is claimed: %v %s, want tempfail", r.Action, r.Reason)
			}
			if err := c.Release(t.Context(), first); err != nil {
				t.Fatal(err)
			}
			if r := check(t.Context(), other); r.Action != smtpcheck.Continue {
				t.Fatalf("copy after the release: %v %s, want a pass", r.Action, r.Reason)
			}
			if err := c.Record(t.Context(), other); err != nil {
				t.Fatal(err)
			}
			r := check(t.Context(), session(t, message, "bob@example.org"))
			if got := r.DefaultReply().Error(); r.Action != smtpcheck.Reject || got != "550 5.3.4 duplicate message rejected" {
				t.Errorf("second copy: %v %q, want 550 5.3.4 duplicate message rejected", r.Action, got)
			}
			if r.Reason.Check != duplicate.Name || r.Reason.Rule != "mid" {
				t.Errorf("reason = %s, want duplicate rule=mid", r.Reason)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	clock := storetest.NewClock()
	st := store.NewMemory(store.MemoryOptions{Now: clock.Now})
	c, err := duplicate.New(duplicate.Config{Store: st, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	check := c.Check()
	newID := strings.Replace(message, "dup-1@", "dup-2@", 1)
	newBody := strings.Replace(message, "Hello", "Bye", 1)
	noID := strings.Replace(message, "Message-ID: <dup-1@example.net>\r\n", "", 1)
	steps := []struct {
		name  string
		msg   string
		rcpts []string
		rule  string // "" when accepted
	}{
		{"first", message, []string{"bob@example.org"}, ""},
		{"other recipient", message, []string{"carol@example.org"}, ""},
		{"recipients in another order and case", message, []string{"Carol@example.org", "bob@example.org"}, ""},
		{"same recipients again, other order", message, []string{"bob@example.org", "carol@example.org"}, "mid"},
		{"same body, new Message-ID", newID, []string{"bob@example.org"}, "body"},
		{"same Message-ID, new body", newBody, []string{"bob@example.org"}, "mid"},
		{"no Message-ID, new body", strings.Replace(noID, "Hello", "Hi", 1), []string{"bob@example.org"}, ""},
		{"no Message-ID, same body", strings.Replace(noID, "Hello", "Hi", 1), []string{"bob@example.org"}, "body"},
	}
	for _, st := range steps {
		s := session(t, st.msg, st.rcpts...)
		r := check(t.Context(), s)
		if st.rule == "" && r.Action != smtpcheck.Continue || st.rule != "" && (r.Action != smtpcheck.Reject || r.Reason.Rule != st.rule) {
			t.Errorf("%s: %v %s, want rule %q", st.name, r.Action, r.Reason, st.rule)
		}
		if r.Action == smtpcheck.Continue {
			if err := c.Record(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
	}
	clock.Advance(time.Hour + time.Second)
	if r := check(t.Context(), session(t, message, "bob@example.org")); r.Action != smtpcheck.Continue {
		t.Errorf("after the TTL: %v %s, want accepted", r.Action, r.Reason)
	}
}

// The check records nothing: a message let through and then refused (or
// not delivered) leaves no record that would refuse the client's retry.
// While it is between the check and Record, its claim makes a copy in
// another session wait (4xx, never 5xx); the claim goes with Release or
// ClaimTTL, and only Record makes copies duplicates.
func TestRecordOnlyWhenAccepted(t *testing.T) {
	ctx := t.Context()
	clock := storetest.NewClock()
	c, err := duplicate.New(duplicate.Config{Store: store.NewMemory(store.MemoryOptions{Now: clock.Now}), ClaimTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	check := c.Check()
	sess := func(id string) *smtpcheck.Session {
		s := session(t, message, "bob@example.org")
		s.Conn.ID = id
		return s
	}
	a := sess("A")
	if r := check(ctx, a); r.Action != smtpcheck.Continue {
		t.Fatalf("first copy: %v %s", r.Action, r.Reason)
	}
	// The same session sends it again (its first try deferred): no wait.
	if r := check(ctx, a); r.Action != smtpcheck.Continue {
		t.Fatalf("same session again: %v %s, want a pass", r.Action, r.Reason)
	}
	// Another session (another host) meanwhile: come back later.
	r := check(ctx, sess("B"))
	if r.Action != smtpcheck.TempFail || r.DefaultReply().Code()/100 != 4 || r.Reason.Rule != "mid-in-progress" {
		t.Fatalf("copy while the first is delivered: %v %q %s, want a 4xx with rule mid-in-progress", r.Action, r.DefaultReply(), r.Reason)
	}
	// A's delivery failed; its session ends and releases the claim.
	if err := c.Release(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := sess("B")
	if r := check(ctx, b); r.Action != smtpcheck.Continue {
		t.Fatalf("retry after a failed delivery: %v %s, want a pass", r.Action, r.Reason)
	}
	// B dies without a word: its claim runs out.
	clock.Advance(time.Minute + time.Second)
	cc := sess("C")
	if r := check(ctx, cc); r.Action != smtpcheck.Continue {
		t.Fatalf("retry after an abandoned claim ran out: %v %s, want a pass", r.Action, r.Reason)
	}
	if err := c.Record(ctx, cc); err != nil {
		t.Fatal(err)
	}
	// Releasing after Record changes nothing: the message stays taken.
	if err := c.Release(ctx, cc); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"C", "D"} {
		r := check(ctx, sess(id))
		if r.Action != smtpcheck.Reject || r.DefaultReply().Error() != "550 5.3.4 duplicate message rejected" {
			t.Errorf("copy after acceptance (session %s): %v %q, want 550 5.3.4", id, r.Action, r.DefaultReply())
		}
	}
}

// failing is a store that is down.
type failing struct{ store.Store }

func (failing) Update(context.Context, string, store.UpdateFunc) error { return store.ErrUnavailable }

func TestStoreDown(t *testing.T) {
	for _, tt := range []struct {
		policy smtpcheck.ErrorPolicy
		action smtpcheck.Action
	}{{smtpcheck.FailOpen, smtpcheck.Continue}, {smtpcheck.FailTemp, smtpcheck.TempFail}} {
		c, _ := duplicate.New(duplicate.Config{Store: failing{}, OnError: tt.policy})
		r := c.Check()(t.Context(), session(t, message, "bob@example.org"))
		if r.Action != tt.action || !errors.Is(r.Err, store.ErrUnavailable) || r.Reason.Rule != "store" {
			t.Errorf("%v: %v err=%v reason=%s, want %v with the store's error", tt.policy, r.Action, r.Err, r.Reason, tt.action)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := duplicate.New(duplicate.Config{}); err == nil {
		t.Error("New without a store succeeded")
	}
	if _, err := duplicate.New(duplicate.Config{Store: store.NewMemory(store.MemoryOptions{}), NoMessageID: true, NoBody: true}); err == nil {
		t.Error("New with both keys off succeeded")
	}
}
