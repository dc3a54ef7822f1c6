package greylist

import (
	"net/netip"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func TestNormalizeSender(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"null sender", "", ""},
		{"lower case", "John.Doe@Example.ORG", "john.doe@example.org"},
		{"trailing dot", "a@example.org.", "a@example.org"},
		{"plus extension", "list+bounces@example.org", "list@example.org"},
		{"VERP number", "bounce-12345-user=example.net@lists.example.org", "bounce-#-user=example.net@lists.example.org"},
		{"several numbers", "b.17.2024@example.org", "b.#.#@example.org"},
		{"digits inside a word stay", "user42@example.org", "user42@example.org"},
		{"underscore joins a word", "x_123@example.org", "x_123@example.org"},
		{"BATV standard", "prvs=0123456789=john@example.org", "john@example.org"},
		{"BATV reversed", "prvs=john=0123abcdef@example.org", "john@example.org"},
		{"BATV tag numbers", "prvs=4321abcdef=jane@example.org", "jane@example.org"},
		{"BATV both tags: standard wins", "prvs=0123456789=abcdefghij@example.org", "abcdefghij@example.org"},
		{"not BATV: two parts", "prvs=john@example.org", "prvs=john@example.org"},
		{"BATV then VERP", "prvs=0123456789=bounce-77@example.org", "bounce-#@example.org"},
		{"no domain", "Postmaster", "postmaster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeSender(smtpcheck.ParseAddress(tt.in)); got != tt.want {
				t.Errorf("NormalizeSender(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeRecipient(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"case", "User@Example.NET", "user@example.net"},
		{"extension kept", "user+tag@example.net", "user+tag@example.net"},
		{"trailing dot", "user@example.net.", "user@example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeRecipient(smtpcheck.ParseAddress(tt.in)); got != tt.want {
				t.Errorf("NormalizeRecipient(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestClientNetwork(t *testing.T) {
	tests := []struct {
		name   string
		ip     string
		v4, v6 int
		want   string
	}{
		{"IPv4 /24", "192.0.2.77", 24, 64, "192.0.2.0/24"},
		{"IPv6 /64", "2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64"},
		{"exact IPv4", "192.0.2.77", 32, 128, "192.0.2.77/32"},
		{"exact IPv6", "2001:db8::1", 32, 128, "2001:db8::1/128"},
		{"mapped IPv4 is IPv4", "::ffff:192.0.2.77", 24, 64, "192.0.2.0/24"},
		{"IPv4 /16", "198.51.100.9", 16, 48, "198.51.0.0/16"},
		{"clamped", "192.0.2.77", 40, 200, "192.0.2.77/32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClientNetwork(netip.MustParseAddr(tt.ip), tt.v4, tt.v6)
			if got.String() != tt.want {
				t.Errorf("ClientNetwork(%q) = %v, want %v", tt.ip, got, tt.want)
			}
		})
	}
	if got := ClientNetwork(netip.Addr{}, 24, 64); got.IsValid() {
		t.Errorf("ClientNetwork(invalid) = %v, want the zero Prefix", got)
	}
}

func TestKeys(t *testing.T) {
	g := newTestGreylist(t, Config{})
	tr := g.Triplet(netip.MustParseAddr("192.0.2.9"), smtpcheck.ParseAddress("Bounce-42@Example.org"), smtpcheck.ParseAddress("Me@Example.NET"))
	tests := []struct {
		name string
		t    Triplet
		want string
	}{
		{"plain", tr, "grey:t:192.0.2.0/24 bounce-#@example.org me@example.net"},
		{"null sender", Triplet{Client: tr.Client, Rcpt: "me@example.net"}, "grey:t:192.0.2.0/24  me@example.net"},
		{"space and percent escaped", Triplet{Client: tr.Client, Sender: `"a b%"@x`, Rcpt: "me@example.net"}, `grey:t:192.0.2.0/24 "a%20b%25"@x me@example.net`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := g.Key(tt.t)
			if got != tt.want {
				t.Errorf("Key(%v) = %q, want %q", tt.t, got, tt.want)
			}
			back, ok := parseTripletKey(got[len("grey:t:"):])
			want := tt.t
			want.Addr = netip.Addr{} // not part of the key
			if !ok || back != want {
				t.Errorf("parseTripletKey(%q) = %v, %v, want %v", got, back, ok, want)
			}
		})
	}
	long := Triplet{Client: tr.Client, Sender: string(make([]byte, 1<<20)), Rcpt: "x@y"}
	if k := g.Key(long); len(k) > 200 {
		t.Errorf("Key(1 MB sender) is %d bytes, want a short hashed key", len(k))
	}
}

func TestPrivacyKeysHoldNoAddresses(t *testing.T) {
	g := newTestGreylist(t, Config{Privacy: true})
	tr := Triplet{Client: netip.MustParsePrefix("192.0.2.0/24"), Sender: "alice@example.org", Rcpt: "bob@example.net"}
	for _, k := range []string{g.Key(tr), g.clientKey(tr.Client)} {
		for _, secret := range []string{"alice", "bob", "example", "192.0.2"} {
			if contains(k, secret) {
				t.Errorf("privacy key %q contains %q", k, secret)
			}
		}
	}
	other := tr
	other.Rcpt = "carol@example.net"
	if g.Key(tr) == g.Key(other) {
		t.Errorf("Key(%v) == Key(%v), want different hashes", tr, other)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
