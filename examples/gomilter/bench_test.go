package gomilter

import (
	"strings"
	"testing"

	"github.com/d--j/go-milter"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// BenchmarkSession is one SMTP session with one message, as Postfix drives
// the filter (a milter connection per session), with an empty policy: the
// adapter's and the protocol's own cost.
func BenchmarkSession(b *testing.B) {
	f := New(Config{Policy: &smtpcheck.Policy{}})
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
}
