package greylist

import (
	"fmt"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// TestAutoAllowScope drives the RCPT check: a client earns its allowance
// by passes of its own address by default (as postgrey counts), or of its
// network with AutoAllowByNetwork; zero AutoAllow is the default count of
// five and AutoAllowOff never allows.
func TestAutoAllowScope(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		from   string // the client that passes, once an hour
		passes int
		probe  string // the client that then tries a new triplet
		want   bool   // allowed outright
	}{
		{"own address, default count", Config{}, "192.0.2.1", 5, "192.0.2.1", true},
		{"four passes are not enough by default", Config{}, "192.0.2.1", 4, "192.0.2.1", false},
		{"neighbour in the /24 counts apart by default", Config{}, "192.0.2.1", 5, "192.0.2.2", false},
		{"IPv4-mapped form of the same address", Config{}, "192.0.2.1", 5, "::ffff:192.0.2.1", true},
		{"IPv6 neighbour in the /64 counts apart by default", Config{}, "2001:db8:1:2::1", 5, "2001:db8:1:2::2", false},
		{"by network: neighbour in the /24", Config{AutoAllowByNetwork: true}, "192.0.2.1", 5, "192.0.2.2", true},
		{"by network: another /24", Config{AutoAllowByNetwork: true}, "192.0.2.1", 5, "192.0.3.1", false},
		{"by network: IPv6 neighbour in the /64", Config{AutoAllowByNetwork: true}, "2001:db8:1:2::1", 5, "2001:db8:1:2::ff", true},
		{"by network with ExactIP is per address", Config{AutoAllowByNetwork: true, ExactIP: true}, "192.0.2.1", 5, "192.0.2.2", false},
		{"zero is the default count", Config{AutoAllow: 0}, "192.0.2.1", 5, "192.0.2.1", true},
		{"custom count", Config{AutoAllow: 2}, "192.0.2.1", 2, "192.0.2.1", true},
		{"custom count not reached", Config{AutoAllow: 3}, "192.0.2.1", 2, "192.0.2.1", false},
		{"off", Config{AutoAllow: AutoAllowOff}, "192.0.2.1", 10, "192.0.2.1", false},
		{"any negative is off", Config{AutoAllow: -7}, "192.0.2.1", 10, "192.0.2.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			cfg := tt.cfg
			cfg.Now = clk.Now
			check := newTestGreylist(t, cfg).Check()
			ctx := t.Context()
			session := func(ip, rcpt string) *smtpcheck.Session {
				return checktest.NewSession(ip).Helo("mx.example.net").From("a@example.net").To(rcpt).Session()
			}
			for i := range tt.passes {
				rcpt := fmt.Sprintf("user%d@example.org", i)
				check(ctx, session(tt.from, rcpt))
				clk.Advance(6 * time.Minute)
				if r := check(ctx, session(tt.from, rcpt)); r.Action != smtpcheck.Continue || r.Reason.Rule != Passed.String() {
					t.Fatalf("retry %d after the delay: %v (%s), want a pass", i, r.Action, r.Reason)
				}
				clk.Advance(time.Hour)
			}
			r := check(ctx, session(tt.probe, "new@example.org"))
			got := r.Action == smtpcheck.Continue && r.Reason.Rule == "auto-allow"
			if got != tt.want {
				t.Errorf("new triplet from %s after %d passes from %s: %v (%s), want allowed outright = %v",
					tt.probe, tt.passes, tt.from, r.Action, r.Reason, tt.want)
			}
		})
	}
}
