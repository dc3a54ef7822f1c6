package hygiene

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// BenchmarkDefaultOneMessage runs every check of Default over one
// message: HELO, MAIL, two RCPTs, DATA, the header and the end of data
// (a 2 kB body scanned for bare line endings).
func BenchmarkDefaultOneMessage(b *testing.B) {
	st := Default(DefaultConfig{Names: []string{"mx.our.example"}})
	helo := smtpcheck.FirstMatch(st.Helo...)
	mail := smtpcheck.FirstMatch(st.Mail...)
	rcpt := smtpcheck.FirstMatch(st.Rcpt...)
	data := smtpcheck.FirstMatch(st.Data...)
	headers := smtpcheck.FirstMatch(st.Headers...)
	eod := smtpcheck.FirstMatch(st.EndOfData...)
	raw := strings.NewReplacer("example.org", "alpha-mail.de", "example.net", "beta-post.fr").Replace(goodHeader) + strings.Repeat("a line of text in the body of the message\n", 50)
	bld := checktest.NewSession("192.0.2.1").Helo("mail.alpha-mail.de").From("alice@alpha-mail.de").To("bob@beta-post.fr").To("carol@beta-post.fr")
	s := bld.Message(raw)
	hdr, body, whole := s.Session().Header, s.Session().Body, s.Session().Message
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ss := s.Session()
		ss.Header, ss.Body, ss.Message = nil, nil, nil
		for _, st := range []struct {
			stage smtpcheck.Stage
			c     smtpcheck.Check
		}{{smtpcheck.StageHelo, helo}, {smtpcheck.StageMail, mail}, {smtpcheck.StageRcpt, rcpt}, {smtpcheck.StageRcpt, rcpt}, {smtpcheck.StageData, data}} {
			ss.Stage = st.stage
			if r := st.c(ctx, ss); r.Action != smtpcheck.Continue {
				b.Fatalf("stage %v: %v %s", st.stage, r.Action, r.Reason)
			}
		}
		ss.Header, ss.Stage = hdr, smtpcheck.StageHeaders
		if r := headers(ctx, ss); r.Action != smtpcheck.Continue {
			b.Fatalf("headers: %v %s", r.Action, r.Reason)
		}
		ss.Body, ss.Message, ss.Stage = body, whole, smtpcheck.StageEndOfData
		if r := eod(ctx, ss); r.Action != smtpcheck.Continue {
			b.Fatalf("end of data: %v %s", r.Action, r.Reason)
		}
	}
}

func BenchmarkScanLineEndings64K(b *testing.B) {
	var sc Scanner
	buf := []byte(strings.Repeat("a line of text in the body of the message\r\n", 1500))
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		sc = Scanner{}
		sc.Write(buf)
	}
	_ = sc.Findings()
}

// BenchmarkDefaultStages runs each stage of Default on its own, and an
// empty stage list ("guard-only") that measures what the stage's Guard
// and FirstMatch cost without any check.
func BenchmarkDefaultStages(b *testing.B) {
	st := Default(DefaultConfig{Names: []string{"mx.our.example"}})
	raw := strings.NewReplacer("example.org", "alpha-mail.de", "example.net", "beta-post.fr").Replace(goodHeader) + strings.Repeat("a line of text in the body of the message\n", 50)
	s := checktest.NewSession("192.0.2.1").Helo("mail.alpha-mail.de").From("alice@alpha-mail.de").To("bob@beta-post.fr").Message(raw).Session()
	hdr, body, whole := s.Header, s.Body, s.Message
	ctx := b.Context()
	for _, tt := range []struct {
		name  string
		stage smtpcheck.Stage
		list  []smtpcheck.Check
	}{
		{"guard-only", smtpcheck.StageData, group()},
		{"helo", smtpcheck.StageHelo, st.Helo},
		{"mail", smtpcheck.StageMail, st.Mail},
		{"rcpt", smtpcheck.StageRcpt, st.Rcpt},
		{"data", smtpcheck.StageData, st.Data},
		{"headers", smtpcheck.StageHeaders, st.Headers},
		{"end-of-data", smtpcheck.StageEndOfData, st.EndOfData},
	} {
		b.Run(tt.name, func(b *testing.B) {
			c := smtpcheck.FirstMatch(tt.list...)
			s.Stage, s.Header, s.Body, s.Message = tt.stage, nil, nil, nil
			if tt.stage >= smtpcheck.StageHeaders {
				s.Header = hdr
			}
			if tt.stage == smtpcheck.StageEndOfData {
				s.Body, s.Message = body, whole
			}
			b.ReportAllocs()
			for b.Loop() {
				if r := c(ctx, s); r.Action != smtpcheck.Continue {
					b.Fatalf("%s: %v %s", tt.name, r.Action, r.Reason)
				}
			}
		})
	}
}
