package gomilter

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/d--j/go-milter"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Config.Accepted hears of a message the filter lets through at its end,
// with the message still readable, and never of one a check turned away.
func TestAcceptedAtEndOfMessageOnly(t *testing.T) {
	var mu sync.Mutex
	var heard []string
	c := serve(t, Config{
		Policy: &smtpcheck.Policy{EndOfData: check(func(s *smtpcheck.Session) smtpcheck.Result {
			if subj, _ := s.Header.Get("Subject"); strings.Contains(subj, "later") {
				return smtpcheck.Result{Action: smtpcheck.TempFail}
			}
			return smtpcheck.Result{}
		})},
		Accepted: func(_ context.Context, s *smtpcheck.Session) {
			mu.Lock()
			defer mu.Unlock()
			heard = append(heard, string(readAll(t, s.Message)))
		},
	})
	for _, tc := range []struct {
		subject string
		want    milter.ActionType
	}{{"later", milter.ActionRejectWithCode}, {"fine", milter.ActionAccept}} {
		m := open(t, c)
		m.upToData("a@client.example", "b@example.org")
		msg := "From: <a@client.example>\r\nSubject: " + tc.subject + "\r\n\r\nhello\r\n"
		if _, a := m.send(msg); a.Type != tc.want {
			t.Fatalf("message %q: %v, want %v", tc.subject, a, tc.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(heard) != 1 || !strings.Contains(heard[0], "Subject: fine") {
		t.Errorf("Accepted heard %q, want only the accepted message", heard)
	}
}
