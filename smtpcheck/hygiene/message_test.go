package hygiene

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

const goodHeader = "From: Alice <alice@example.org>\nTo: bob@example.net\nDate: Thu, 1 Jan 2026 10:00:00 +0100\nMessage-ID: <abc.123@mx.example.org>\nSubject: hello\n\nbody\n"

func msg(raw string) *smtpcheck.Session {
	return checktest.NewSession("192.0.2.1").Helo("mx.example.org").From("alice@example.org").To("bob@example.net").Message(raw).Session()
}

func TestHeaderChecks(t *testing.T) {
	bad := verdict{smtpcheck.Reject, 554, "5.6.0"}
	tests := []struct {
		name  string
		check smtpcheck.Check
		cname string
		raw   string
		utf8  bool
		want  verdict
	}{
		{"ascii ok", HeaderASCII(HeaderASCIIConfig{}), NameHeaderASCII, goodHeader, false, pass},
		{"8bit subject", HeaderASCII(HeaderASCIIConfig{}), NameHeaderASCII, "Subject: Grüße\n" + goodHeader, false, bad},
		{"8bit with smtputf8", HeaderASCII(HeaderASCIIConfig{}), NameHeaderASCII, "Subject: Grüße\n" + goodHeader, true, pass},
		{"min ok", MinHeaders(MinHeadersConfig{}), NameMinHeaders, goodHeader, false, pass},
		{"no from", MinHeaders(MinHeadersConfig{}), NameMinHeaders, strings.Replace(goodHeader, "From:", "X-From:", 1), false, bad},
		{"no date", MinHeaders(MinHeadersConfig{}), NameMinHeaders, strings.Replace(goodHeader, "Date:", "X-Date:", 1), false, bad},
		{"no message-id", MinHeaders(MinHeadersConfig{}), NameMinHeaders, strings.Replace(goodHeader, "Message-ID:", "X-Id:", 1), false, bad},
		{"no message-id allowed", MinHeaders(MinHeadersConfig{AllowMissingMessageID: true}), NameMinHeaders, strings.Replace(goodHeader, "Message-ID:", "X-Id:", 1), false, pass},
		{"bad message-id", MinHeaders(MinHeadersConfig{}), NameMessageID, strings.Replace(goodHeader, "<abc.123@mx.example.org>", "abc123", 1), false, bad},
		{"literal message-id", MinHeaders(MinHeadersConfig{}), NameMessageID, strings.Replace(goodHeader, "<abc.123@mx.example.org>", "<abc@[192.0.2.1]> (comment)", 1), false, pass},
		{"date ok", DateSyntax(DateConfig{}), NameDateSyntax, goodHeader, false, pass},
		{"date no day name, comment, no seconds", DateSyntax(DateConfig{}), NameDateSyntax, strings.Replace(goodHeader, "Thu, 1 Jan 2026 10:00:00 +0100", "1 Jan 2026 10:00 -0000 (UTC)", 1), false, pass},
		{"date gmt lenient", DateSyntax(DateConfig{}), NameDateSyntax, strings.Replace(goodHeader, "+0100", "GMT", 1), false, pass},
		{"date gmt strict", DateSyntax(DateConfig{Strict: true}), NameDateSyntax, strings.Replace(goodHeader, "+0100", "GMT", 1), false, bad},
		{"date iso", DateSyntax(DateConfig{}), NameDateSyntax, strings.Replace(goodHeader, "Thu, 1 Jan 2026 10:00:00 +0100", "2026-01-01T10:00:00Z", 1), false, bad},
		{"date bad month", DateSyntax(DateConfig{}), NameDateSyntax, strings.Replace(goodHeader, "Jan", "Janvier", 1), false, bad},
		{"date bad hour", DateSyntax(DateConfig{}), NameDateSyntax, strings.Replace(goodHeader, "10:00:00", "25:00:00", 1), false, bad},
		{"resent-date bad", DateSyntax(DateConfig{}), NameDateSyntax, "Resent-Date: yesterday\n" + goodHeader, false, bad},
		{"no duplicates", DuplicateHeaders(DuplicateConfig{}), NameDuplicateHeaders, "Received: a\nReceived: b\n" + goodHeader, false, pass},
		{"duplicate from", DuplicateHeaders(DuplicateConfig{}), NameDuplicateHeaders, "From: mallory@evil.example\n" + goodHeader, false, bad},
		{"duplicate subject case", DuplicateHeaders(DuplicateConfig{}), NameDuplicateHeaders, "SUBJECT: again\n" + goodHeader, false, bad},
		{"duplicate subject folded long s", DuplicateHeaders(DuplicateConfig{}), NameDuplicateHeaders, "\u017fubject: again\n" + goodHeader, true, bad},
		{"message-id folded long s", MinHeaders(MinHeadersConfig{}), NameMinHeaders, strings.Replace(goodHeader, "Message-ID:", "Me\u017f\u017fage-ID:", 1), true, pass},
		{"line ok", HeaderLineLength(HeaderLengthConfig{}), NameHeaderLength, goodHeader, false, pass},
		{"folded long ok", HeaderLineLength(HeaderLengthConfig{}), NameHeaderLength, "X-Long: " + strings.Repeat("a", 900) + "\n " + strings.Repeat("b", 900) + "\n" + goodHeader, false, pass},
		{"line too long", HeaderLineLength(HeaderLengthConfig{}), NameHeaderLength, "X-Long: " + strings.Repeat("a", 1000) + "\n" + goodHeader, false, verdict{smtpcheck.Reject, 554, "5.5.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := msg(tt.raw)
			s.Mail.SMTPUTF8 = tt.utf8
			expect(t, tt.cname, run(t, tt.check, s), tt.want, tt.cname)
		})
	}
}

func TestMessageSize(t *testing.T) {
	c := MessageSize(SizeConfig{Max: 1000})
	b := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From("a@example.org")
	b.Session().Mail.Size = 5000
	expect(t, "MessageSize(SIZE=5000)", run(t, c, b.Session()), verdict{smtpcheck.Reject, 552, "5.3.4"}, NameMessageSize)
	b.Session().Mail.Size = 500
	expect(t, "MessageSize(SIZE=500)", run(t, c, b.Session()), pass, "")
	big := msg(goodHeader + strings.Repeat("x", 2000))
	expect(t, "MessageSize(2 kB body)", run(t, c, big), verdict{smtpcheck.Reject, 552, "5.3.4"}, NameMessageSize)
	expect(t, "MessageSize(default limit)", run(t, MessageSize(SizeConfig{}), big), pass, "")
}

func TestScanLineEndings(t *testing.T) {
	tests := []struct {
		name         string
		in           string
		lf, cr, dots int
	}{
		{"clean", "a\r\nb\r\n", 0, 0, 0},
		{"stuffed dot line is clean", "a\r\n.\r\nb\r\n", 0, 0, 0},
		{"bare lf", "a\nb\r\n", 1, 0, 0},
		{"bare cr", "a\rb\r\n", 0, 1, 0},
		{"lf dot lf", "a\n.\nMAIL FROM:<x@y>\r\n", 2, 0, 1},
		{"cr dot cr", "a\r.\rMAIL FROM:<x@y>\r\n", 0, 2, 1},
		{"lf dot crlf", "a\n.\r\nRCPT TO:<x@y>\r\n", 1, 0, 1},
		{"crlf dot lf", "a\r\n.\nRCPT TO:<x@y>\r\n", 1, 0, 1},
		{"trailing cr", "a\r\nb\r", 0, 1, 0},
		{"dot at end after lf", "a\n.", 1, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Byte at a time, to cover state across writes.
			f, err := ScanLineEndings(t.Context(), iotest.OneByteReader(strings.NewReader(tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			if f.BareLF != tt.lf || f.BareCR != tt.cr || f.DotLines != tt.dots {
				t.Errorf("ScanLineEndings(%q) = %s, want lf=%d cr=%d dots=%d", tt.in, f, tt.lf, tt.cr, tt.dots)
			}
			if f.Clean() != (f.First < 0) {
				t.Errorf("ScanLineEndings(%q).First = %d with Clean() = %v", tt.in, f.First, f.Clean())
			}
		})
	}
}

func TestNormalizeLineEndings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\rb\r", "a\r\nb\r\n"},
		{"a\r\r\n", "a\r\n\r\n"},
		{"a\n.\nb", "a\r\n.\r\nb"},
	}
	for _, tt := range tests {
		got, err := io.ReadAll(NormalizeLineEndings(iotest.OneByteReader(strings.NewReader(tt.in))))
		if err != nil || string(got) != tt.want {
			t.Errorf("NormalizeLineEndings(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
		f, _ := ScanLineEndings(t.Context(), bytes.NewReader(got))
		if !f.Clean() {
			t.Errorf("ScanLineEndings(NormalizeLineEndings(%q)) = %s, want clean", tt.in, f)
		}
	}
}

func TestBareLineEndings(t *testing.T) {
	smuggle := goodHeader + "text\n.\nMAIL FROM:<evil@example.com>\r\n"
	sloppy := goodHeader + "text\nmore\n"
	tests := []struct {
		name string
		mode LineMode
		body string
		want verdict
	}{
		{"clean reject mode", LineReject, strings.Replace(goodHeader, "body\n", "body\r\n", 1), pass},
		{"sloppy reject mode", LineReject, sloppy, verdict{smtpcheck.Reject, 550, "5.5.2"}},
		{"sloppy normalise mode", LineNormalize, sloppy, pass},
		{"smuggling normalise mode", LineNormalize, smuggle, verdict{smtpcheck.Reject, 550, "5.5.2"}},
		{"smuggling ignore mode", LineIgnore, smuggle, pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := msg(goodHeader)
			// checktest turns LF into CRLF; set the message as received,
			// with a CRLF header and the body under test.
			head, rest, _ := strings.Cut(tt.body, "\n\n")
			body := strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + rest
			s.Message = smtpcheck.BytesBody(body)
			r := run(t, BareLineEndings(LineConfig{Mode: tt.mode}), s)
			expect(t, "BareLineEndings", r, tt.want, NameBareLineEndings)
			got, ok := LineFindingsOf(s)
			if want := scanRef([]byte(body)); !ok || got != want {
				t.Errorf("LineFindingsOf = %s, %v, want %s, true", got, ok, want)
			}
		})
	}
}

func TestProtocolChecks(t *testing.T) {
	s := checktest.NewSession("192.0.2.1").Helo("mx.example.org").Session()
	for _, c := range []smtpcheck.Check{GreetPause(GreetPauseConfig{}), Pipelining(PipeliningConfig{Strict: true}), ErrorLimit(ErrorLimitConfig{})} {
		expect(t, "protocol check on a polite client", run(t, c, s), pass, "")
	}
	s.Proto.PreGreeting = true
	expect(t, "GreetPause(pre-greeting)", run(t, GreetPause(GreetPauseConfig{}), s), verdict{smtpcheck.Reject, 550, "5.7.1"}, NameGreetPause)

	s.Proto.Pipelined, s.Proto.PipeliningOffered = true, true
	expect(t, "Pipelining(offered)", run(t, Pipelining(PipeliningConfig{}), s), pass, "")
	expect(t, "Pipelining(offered, strict)", run(t, Pipelining(PipeliningConfig{Strict: true}), s), verdict{smtpcheck.Reject, 550, "5.3.3"}, NamePipelining)
	s.Proto.PipeliningOffered = false
	expect(t, "Pipelining(not offered)", run(t, Pipelining(PipeliningConfig{}), s), verdict{smtpcheck.Reject, 550, "5.3.3"}, NamePipelining)

	s.Proto.UnknownCommands = 5
	expect(t, "ErrorLimit(5 unknown)", run(t, ErrorLimit(ErrorLimitConfig{}), s), verdict{smtpcheck.Disconnect, 421, "4.7.0"}, NameErrorLimit)
	s.Proto.UnknownCommands, s.Proto.Errors = 0, 3
	expect(t, "ErrorLimit(3 errors, max 3)", run(t, ErrorLimit(ErrorLimitConfig{MaxErrors: 3}), s), verdict{smtpcheck.Disconnect, 421, "4.7.0"}, NameErrorLimit)
}

func TestDefaultAcceptsGoodMail(t *testing.T) {
	st := Default(DefaultConfig{Names: []string{"mx.our.example"}})
	ctx := t.Context()
	b := checktest.NewSession("192.0.2.1").Helo("mail.alpha-mail.de")
	runStage := func(list []smtpcheck.Check, s *smtpcheck.Session) {
		t.Helper()
		r := smtpcheck.FirstMatch(list...)(ctx, s)
		if r.Action != smtpcheck.Continue {
			t.Fatalf("Default at %v = %v (%s, %s), want continue", s.Stage, r.Action, r.Reply.Error(), r.Reason)
		}
	}
	runStage(st.Helo, b.Session())
	runStage(st.Mail, b.From("alice@alpha-mail.de").Session())
	runStage(st.Rcpt, b.To("bob@beta-post.fr").Session())
	runStage(st.Rcpt, b.To("postmaster").Session())
	runStage(st.Data, b.At(smtpcheck.StageData))
	s := b.Message(strings.NewReplacer("example.org", "alpha-mail.de", "example.net", "beta-post.fr").Replace(goodHeader))
	runStage(st.Headers, s.At(smtpcheck.StageHeaders))
	runStage(st.EndOfData, s.At(smtpcheck.StageEndOfData))

	// A laptop of an authenticated user skips the HELO checks.
	laptop := checktest.NewSession("192.0.2.9").Auth("alice").Helo("MacBook-Pro")
	runStage(st.Helo, laptop.Session())
	bad := checktest.NewSession("192.0.2.9").Helo("MacBook-Pro")
	if r := smtpcheck.FirstMatch(st.Helo...)(ctx, bad.Session()); r.Action != smtpcheck.Reject {
		t.Errorf("Default HELO MacBook-Pro unauthenticated = %v, want reject", r.Action)
	}
}

// A smuggling dot line in the header is found too: the check reads the
// whole message, not only the body after the header.
func TestBareLineEndingsInHeader(t *testing.T) {
	s := msg(goodHeader)
	s.Message = smtpcheck.BytesBody("Subject: x\n.\nMAIL FROM:<evil@example.com>\r\n\r\nbody\r\n")
	r := run(t, BareLineEndings(LineConfig{Mode: LineNormalize}), s)
	expect(t, "BareLineEndings", r, verdict{smtpcheck.Reject, 550, "5.5.2"}, NameBareLineEndings)
}
