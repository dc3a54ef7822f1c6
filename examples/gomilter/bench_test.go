package gomilter

import (
	"context"
	"strings"
	"testing"

	"github.com/d--j/go-milter"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// BenchmarkSession is one SMTP session with one message, as Postfix drives
// the filter (a milter connection per session): with an empty policy (the
// MTA sends only the end of message), and with a check that passes at
// every stage but connect, the default policy's shape (every event sent,
// a reply awaited at each stage that may refuse), the message's header
// parsed for the header check and read by the end-of-message check. The
// adapter's and the protocol's own cost; the figures per message are
// allocations, and MTA-side time.
//
//	go test ./examples/gomilter -run '^$' -bench Session -benchmem
func BenchmarkSession(b *testing.B) {
	pass := func(context.Context, *smtpcheck.Session) smtpcheck.Result { return smtpcheck.Result{} }
	for _, bc := range []struct {
		name   string
		policy *smtpcheck.Policy
	}{
		{"empty-policy", &smtpcheck.Policy{}},
		{"every-stage", &smtpcheck.Policy{Helo: pass, Mail: pass, Rcpt: pass, Data: pass, Headers: pass, EndOfData: pass, DelayReject: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := New(Config{Policy: bc.policy})
			ln, err := Listen("inet:127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go f.Serve(ln)
			defer f.Close()
			c := milter.NewClient("tcp", ln.Addr().String(), milter.WithActions(milter.AllClientSupportedActionMasks))
			head, body, _ := strings.Cut(message, "\r\n\r\n")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s, err := c.Session(milter.NewMacroBag())
				if err != nil {
					b.Fatal(err)
				}
				s.Conn("mx.client.example", milter.FamilyInet, 40000, "192.0.2.7")
				s.Helo("mx.client.example")
				s.Mail("<a@client.example>", "")
				s.Rcpt("<b@example.org>", "")
				s.DataStart()
				for _, line := range strings.Split(unfoldForWire(head), "\r\n") {
					name, value, _ := strings.Cut(line, ":")
					s.HeaderField(name, value, nil)
				}
				s.HeaderEnd()
				if _, act, err := s.BodyReadFrom(strings.NewReader(body)); err != nil || act.Type != milter.ActionAccept {
					b.Fatalf("end of message = %v, %v", act, err)
				}
				s.Close()
			}
		})
	}
}
