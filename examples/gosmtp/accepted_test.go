package gosmtp_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Config.Accepted hears of a message only once it was delivered, with the
// message still readable: not when Deliver failed (the client got 451 and
// will retry), not when an end-of-data check refused it.
func TestAcceptedOnlyAfterDelivery(t *testing.T) {
	var mu sync.Mutex
	var heard []string
	failDelivery := false
	cfg := gosmtp.Config{
		Policy: &smtpcheck.Policy{EndOfData: func(_ context.Context, s *smtpcheck.Session) smtpcheck.Result {
			if subj, _ := s.Header.Get("Subject"); strings.Contains(subj, "refuse") {
				return smtpcheck.Result{Action: smtpcheck.TempFail}
			}
			return smtpcheck.Result{}
		}},
		Deliver: func(context.Context, *gosmtp.Message) error {
			mu.Lock()
			defer mu.Unlock()
			if failDelivery {
				return errors.New("disk full")
			}
			return nil
		},
		Accepted: func(_ context.Context, s *smtpcheck.Session) {
			rc, err := s.Message.Open()
			if err != nil {
				t.Errorf("Accepted: message not readable: %v", err)
				return
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			mu.Lock()
			defer mu.Unlock()
			heard = append(heard, string(b))
		},
	}
	addr := serveConfigured(t, cfg)
	send := func(subject string) error {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.test"); err != nil {
			t.Fatal(err)
		}
		msg := "From: <a@client.test>\r\nSubject: " + subject + "\r\n\r\nhello\r\n"
		return c.SendMail("a@client.test", []string{"b@mx.test"}, strings.NewReader(msg))
	}
	if err := send("refuse me"); err == nil {
		t.Fatal("message refused at end of data was accepted")
	}
	mu.Lock()
	failDelivery = true
	mu.Unlock()
	if err := send("not stored"); err == nil || !strings.Contains(err.Error(), "451") {
		t.Fatalf("failed delivery: %v, want 451", err)
	}
	mu.Lock()
	failDelivery = false
	mu.Unlock()
	if err := send("stored"); err != nil {
		t.Fatalf("delivered message: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(heard) != 1 || !strings.Contains(heard[0], "Subject: stored") {
		t.Errorf("Accepted heard %q, want only the delivered message", heard)
	}
}
