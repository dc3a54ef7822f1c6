package reply

import "testing"

// BenchmarkAppendToCatalog formats a catalog reply with two arguments into
// a reused buffer, as a server does for every command it refuses.
func BenchmarkAppendToCatalog(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = HostBlacklisted("mail.example.net", "192.0.2.1").AppendTo(buf[:0])
	}
}

// BenchmarkParseOneLine parses a one-line reply, as a client does for each
// command it sends.
func BenchmarkParseOneLine(b *testing.B) {
	b.ReportAllocs()
	const in = "550 5.7.1 recipient <bob@example.org> relaying denied\r\n"
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseMultiLine parses an EHLO reply.
func BenchmarkParseMultiLine(b *testing.B) {
	b.ReportAllocs()
	const in = "250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdentify identifies a bounce line against the whole catalog.
func BenchmarkIdentify(b *testing.B) {
	b.ReportAllocs()
	r := MustParse("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org")
	Identify(r)
	for b.Loop() {
		if len(Identify(r)) == 0 {
			b.Fatal("no match")
		}
	}
}
