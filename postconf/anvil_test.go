package postconf_test

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// anvilSession walks one connection of ip through the policy up to stage
// and returns the decision there.
func anvilSession(t *testing.T, p *smtpcheck.Policy, ip string, stage smtpcheck.Stage) (smtpcheck.Decision, *smtpcheck.Session) {
	t.Helper()
	ctx := t.Context()
	b := checktest.NewSession(ip)
	var d smtpcheck.Decision
	for _, st := range []smtpcheck.Stage{smtpcheck.StageConnect, smtpcheck.StageHelo, smtpcheck.StageMail, smtpcheck.StageRcpt} {
		switch st {
		case smtpcheck.StageHelo:
			b.Helo("client.example.org")
		case smtpcheck.StageMail:
			b.From("sender@example.org")
		case smtpcheck.StageRcpt:
			b.To("postmaster") // Postfix's limits apply to postmaster too
		}
		d = p.Evaluate(ctx, b.At(st))
		if st == stage || d.Result.Action != smtpcheck.Continue {
			break
		}
	}
	return d, b.Session()
}

func TestAnvilParams(t *testing.T) {
	tests := []struct {
		name  string
		main  string
		ip    string
		stage smtpcheck.Stage
		n     int    // the nth event is refused
		want  string // its reply; empty: never refused in 5 events
	}{
		{"count default 50, mynetworks exempt", "", "127.0.0.1", smtpcheck.StageConnect, 0, ""},
		{"count", "smtpd_client_connection_count_limit = 2", "192.0.2.1", smtpcheck.StageConnect, 3,
			"421 4.7.0 mx.example.net Error: too many connections from 192.0.2.1"},
		{"connection rate", "smtpd_client_connection_count_limit = 0\nsmtpd_client_connection_rate_limit = 1", "192.0.2.1", smtpcheck.StageConnect, 2,
			"421 4.7.0 mx.example.net Error: too many connections from 192.0.2.1"},
		{"message rate", "smtpd_client_message_rate_limit = 2", "192.0.2.1", smtpcheck.StageMail, 3,
			"450 4.7.1 Error: too much mail from 192.0.2.1"},
		{"recipient rate", "smtpd_client_recipient_rate_limit = 4", "192.0.2.1", smtpcheck.StageRcpt, 5,
			"450 4.7.1 Error: too many recipients from 192.0.2.1"},
		{"exceptions by network", "smtpd_client_message_rate_limit = 1\nsmtpd_client_event_limit_exceptions = 192.0.2.0/24", "192.0.2.1", smtpcheck.StageMail, 0, ""},
		{"exceptions negated", "smtpd_client_message_rate_limit = 1\nsmtpd_client_event_limit_exceptions = !192.0.2.1 192.0.2.0/24", "192.0.2.1", smtpcheck.StageMail, 2,
			"450 4.7.1 Error: too much mail from 192.0.2.1"},
		{"exceptions empty limits mynetworks", "smtpd_client_message_rate_limit = 1\nsmtpd_client_event_limit_exceptions =", "127.0.0.1", smtpcheck.StageMail, 2,
			"450 4.7.1 Error: too much mail from 127.0.0.1"},
		{"delay_reject no", "smtpd_delay_reject = no\nsmtpd_client_message_rate_limit = 1", "192.0.2.1", smtpcheck.StageMail, 2,
			"450 4.7.1 Error: too much mail from 192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := build(t, "myhostname = mx.example.net\n"+tt.main+"\n", postconf.Env{AnvilStore: store.NewMemory(store.MemoryOptions{})})
			for i := 1; i <= 5; i++ {
				d, s := anvilSession(t, cfg.Policy, tt.ip, tt.stage)
				if tt.stage != smtpcheck.StageConnect {
					access.Release(t.Context(), s)
				}
				got := ""
				if d.Result.Action.Refuses() {
					got = strings.TrimSuffix(string(d.Result.DefaultReply().AppendTo(nil)), "\r\n")
				}
				switch {
				case i == tt.n && got != tt.want:
					t.Fatalf("event %d = %q, want %q", i, got, tt.want)
				case i < tt.n || tt.n == 0:
					if got != "" {
						t.Fatalf("event %d = %q, want it to pass", i, got)
					}
				}
				if i == tt.n {
					return
				}
			}
		})
	}
}

func TestAnvilParamErrors(t *testing.T) {
	for _, line := range []string{
		"smtpd_client_message_rate_limit = many",
		"smtpd_client_recipient_rate_limit = -1",
		"anvil_rate_time_unit = 1x",
		"anvil_rate_time_unit = 0s",
		"smtpd_client_event_limit_exceptions = hash:/etc/postfix/hoggers",
	} {
		f, err := postconf.Parse(strings.NewReader(line+"\n"), "main.cf")
		if err != nil {
			t.Fatal(err)
		}
		_, err = postconf.Build(f, postconf.Env{})
		if err == nil || !strings.Contains(err.Error(), "main.cf:1") {
			t.Errorf("Build(%q) = %v, want an error at main.cf:1", line, err)
		}
	}
}

// TestAnvilWithoutStore: a front-end that leaves the limits to the MTA in
// front still loads the parameters, and counts nothing.
func TestAnvilWithoutStore(t *testing.T) {
	cfg := build(t, "smtpd_client_message_rate_limit = 1\n", postconf.Env{})
	if cfg.Anvil != nil {
		t.Error("Anvil built without a store")
	}
	for range 3 {
		if d, _ := anvilSession(t, cfg.Policy, "192.0.2.1", smtpcheck.StageMail); d.Result.Action.Refuses() {
			t.Fatalf("refused without a store: %v", d.Result.DefaultReply())
		}
	}
}

func TestAnvilTimeUnit(t *testing.T) {
	for _, v := range []string{"60", "60s", "1m", "1h", "1d", "1w"} {
		f, _ := postconf.Parse(strings.NewReader("anvil_rate_time_unit = "+v+"\nsmtpd_client_message_rate_limit = 1\n"), "main.cf")
		if _, err := postconf.Build(f, postconf.Env{AnvilStore: store.NewMemory(store.MemoryOptions{})}); err != nil {
			t.Errorf("anvil_rate_time_unit = %s: %v", v, err)
		}
	}
}
