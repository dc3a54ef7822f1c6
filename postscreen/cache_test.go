package postscreen

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/internal/storekind"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// forEachStore runs fn on a Cache over each kind of store; the cache reads
// expiry times from its records, so the injected clock rules even on Redis,
// which expires whole records on its own clock.
func forEachStore(t *testing.T, fn func(t *testing.T, c *Cache, clk *storetest.Clock)) {
	for _, kind := range storekind.Names() {
		t.Run(kind, func(t *testing.T) {
			clk := storetest.NewClock()
			s, prefix := storekind.Open(t, kind, clk)
			prefix += "ps:"
			c, err := NewCache(CacheConfig{Store: s, Prefix: prefix, Now: clk.Now})
			if err != nil {
				t.Fatalf("NewCache: %v", err)
			}
			fn(t, c, clk)
		})
	}
}

var client = netip.MustParseAddr("192.0.2.7")

func TestCachePerTestExpiry(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *Cache, clk *storetest.Clock) {
		ctx := t.Context()
		all := Tests(0).With(Pregreet).With(DNSBL).With(Pipelining).With(NonSMTP).With(BareNewline)
		e, err := c.Lookup(ctx, client)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		if got := e.Todo(all, clk.Now()); got != all {
			t.Fatalf("new client Todo = %v, want %v", got, all)
		}
		if err := c.Record(ctx, client, all, 0, 5*time.Minute); err != nil {
			t.Fatalf("Record: %v", err)
		}
		steps := []struct {
			after time.Duration // since the record
			want  Tests
		}{
			{time.Minute, 0},
			{5*time.Minute + time.Second, Tests(0).With(DNSBL)},               // the lists' 5 minutes
			{24*time.Hour + time.Second, Tests(0).With(DNSBL).With(Pregreet)}, // postscreen_greet_ttl 1d
			{30*24*time.Hour + time.Second, all},                              // the deep tests' 30d
		}
		var elapsed time.Duration
		for _, st := range steps {
			clk.Advance(st.after - elapsed)
			elapsed = st.after
			e, err := c.Lookup(ctx, client)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if got := e.Todo(all, clk.Now()); got != st.want {
				t.Errorf("after %v: Todo = %q, want %q", st.after, got, st.want)
			}
		}
	})
}

func TestCacheFailForgetsPass(t *testing.T) {
	forEachStore(t, func(t *testing.T, c *Cache, clk *storetest.Clock) {
		ctx := t.Context()
		deep := Deep
		if err := c.Record(ctx, client, deep, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := c.Record(ctx, client, 0, Tests(0).With(BareNewline), 0); err != nil {
			t.Fatal(err)
		}
		e, _ := c.Lookup(ctx, client)
		if got, want := e.Todo(deep, clk.Now()), Tests(0).With(BareNewline); got != want {
			t.Errorf("after a failed bare-newline test: Todo = %q, want %q", got, want)
		}
		// Another client's entry is its own.
		other, _ := c.Lookup(ctx, netip.MustParseAddr("2001:db8::1"))
		if got := other.Todo(deep, clk.Now()); got != deep {
			t.Errorf("other client Todo = %q, want %q", got, deep)
		}
	})
}

func TestTTLsDNSBLClamp(t *testing.T) {
	tt := DefaultTTLs()
	for _, tc := range []struct {
		dns, want time.Duration
	}{
		{0, time.Hour},
		{time.Second, time.Minute},
		{10 * time.Minute, 10 * time.Minute},
		{48 * time.Hour, time.Hour},
	} {
		if got := tt.For(DNSBL, tc.dns); got != tc.want {
			t.Errorf("For(DNSBL, %v) = %v, want %v", tc.dns, got, tc.want)
		}
	}
}

func TestEntryText(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr bool
		pre     int64
	}{
		{"0;0;0;0;0", false, 0},
		{"1700000000;0;0;0;0", false, 1700000000},
		{"1700000000", false, 1700000000}, // older record: fewer fields
		{"5;0;0;0;0;9;9", false, 5},       // newer record: more fields
		{"", true, 0},
		{"x;0", true, 0},
		{"1;;2", true, 0},
		{"-1;0;0;0;0", true, 0},
		{"9999999999999999999;0", true, 0},
	} {
		var e Entry
		err := e.UnmarshalText([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("UnmarshalText(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && tc.pre != 0 && e.Expires[Pregreet].Unix() != tc.pre {
			t.Errorf("UnmarshalText(%q) pregreet = %v, want %d", tc.in, e.Expires[Pregreet], tc.pre)
		}
	}
	var e Entry
	e.Pass(DNSBL, time.Unix(100, 0), time.Minute)
	b, _ := e.MarshalText()
	if string(b) != "0;160;0;0;0" {
		t.Errorf("MarshalText = %q, want %q", b, "0;160;0;0;0")
	}
}

func FuzzEntryText(f *testing.F) {
	f.Add([]byte("0;160;0;0;0"))
	f.Add([]byte("1700000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if e.UnmarshalText(b) != nil {
			return
		}
		out, _ := e.MarshalText()
		var again Entry
		if err := again.UnmarshalText(out); err != nil || again != e {
			t.Fatalf("round trip of %q: %q gives %v, %v", b, out, again, err)
		}
	})
}

func TestScreenBegin(t *testing.T) {
	ctx := t.Context()
	clk := storetest.NewClock()
	s := store.NewMemory(store.MemoryOptions{Now: clk.Now})
	defer s.Close()
	c, _ := NewCache(CacheConfig{Store: s, Now: clk.Now})
	table, err := postfix.Parse("cidr", strings.NewReader("198.51.100.0/24 permit\n203.0.113.0/24 reject\n192.0.2.0/24 dunno\n"), "/etc/postfix/postscreen_access.cidr")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	enabled := Tests(0).With(Pregreet).With(DNSBL)
	sc := New(Config{
		Cache:   c,
		Enabled: enabled,
		Access: AccessList{
			{MyNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
			{Table: table},
		},
	})
	for _, tc := range []struct {
		ip     string
		access Access
		entry  string
		todo   Tests
	}{
		{"10.1.2.3", Permit, "permit_mynetworks", 0},
		{"198.51.100.9", Permit, "cidr:/etc/postfix/postscreen_access.cidr", 0},
		{"203.0.113.9", Deny, "cidr:/etc/postfix/postscreen_access.cidr", 0},
		{"192.0.2.7", Dunno, "", enabled}, // dunno: the tests run
		{"::ffff:10.0.0.1", Permit, "permit_mynetworks", 0},
	} {
		st := sc.Begin(ctx, netip.MustParseAddr(tc.ip))
		if st.Access != tc.access || st.Entry != tc.entry || st.Todo != tc.todo {
			t.Errorf("Begin(%s) = %v %q todo %q, want %v %q todo %q", tc.ip, st.Access, st.Entry, st.Todo, tc.access, tc.entry, tc.todo)
		}
	}
	// Passing the tests makes the next connection a cache hit.
	if err := sc.Finish(ctx, client, enabled, 0, 0); err != nil {
		t.Fatal(err)
	}
	if st := sc.Begin(ctx, client); !st.Cached || st.Todo != 0 {
		t.Errorf("Begin after a pass = %+v, want cached", st)
	}
}

func TestParseAction(t *testing.T) {
	for in, want := range map[string]TestAction{"ignore": Ignore, "Enforce": Enforce, " drop ": Drop} {
		if got, err := ParseAction(in); err != nil || got != want {
			t.Errorf("ParseAction(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	if _, err := ParseAction("reject"); err == nil {
		t.Errorf("ParseAction(%q) = nil error, want one", "reject")
	}
}

// With no test enabled, the cache vouches for nobody.
func TestScreenNothingEnabled(t *testing.T) {
	s := store.NewMemory(store.MemoryOptions{})
	defer s.Close()
	c, _ := NewCache(CacheConfig{Store: s})
	sc := New(Config{Cache: c})
	if st := sc.Begin(t.Context(), client); st.Cached {
		t.Errorf("Begin with no test enabled = %+v, want not cached", st)
	}
}
