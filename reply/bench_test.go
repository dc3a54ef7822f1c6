package reply

import (
	"bufio"
	"fmt"
	"net/textproto"
	"strings"
	"testing"
)

// The benchmarks come in pairs, ours beside the standard library doing the
// same work, so that a regression against the peer shows in one run:
//
//	go test ./reply -run XXX -bench 'Format|Parse' -benchmem -count 5

// Formatting a catalog reply with two arguments into a reused buffer, as a
// server does for every command it refuses.
const (
	benchHost = "mail.example.net"
	benchIP   = "192.0.2.1"
)

// BenchmarkFormatCatalog formats HostBlacklisted: codes, template and two
// sanitised, length-capped arguments.
func BenchmarkFormatCatalog(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = HostBlacklisted(benchHost, benchIP).AppendTo(buf[:0])
	}
	if string(buf) != "550 5.7.1 host mail.example.net [192.0.2.1] black listed\r\n" {
		b.Fatalf("AppendTo = %q", buf)
	}
}

// BenchmarkFormatFmtAppendf writes the same bytes with fmt.Appendf, which
// neither sanitises nor caps the arguments.
func BenchmarkFormatFmtAppendf(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = fmt.Appendf(buf[:0], "550 5.7.1 host %s [%s] black listed\r\n", benchHost, benchIP)
	}
	if string(buf) != "550 5.7.1 host mail.example.net [192.0.2.1] black listed\r\n" {
		b.Fatalf("Appendf = %q", buf)
	}
}

const (
	benchOneLine   = "550 5.7.1 recipient <bob@example.org> relaying denied\r\n"
	benchMultiLine = "250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"
)

// BenchmarkParseOneLine parses a one-line reply, as a client does for each
// command it sends.
func BenchmarkParseOneLine(b *testing.B) {
	benchParse(b, benchOneLine)
}

// BenchmarkParseOneLineTextproto reads the same reply with net/textproto
// from a reused reader.
func BenchmarkParseOneLineTextproto(b *testing.B) {
	benchTextproto(b, benchOneLine)
}

// BenchmarkParseMultiLine parses an EHLO reply.
func BenchmarkParseMultiLine(b *testing.B) {
	benchParse(b, benchMultiLine)
}

// BenchmarkParseMultiLineTextproto reads the same EHLO reply with
// net/textproto.
func BenchmarkParseMultiLineTextproto(b *testing.B) {
	benchTextproto(b, benchMultiLine)
}

func benchParse(b *testing.B, in string) {
	b.ReportAllocs()
	code := 0
	for b.Loop() {
		r, err := Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		code = r.Code()
	}
	if code != 550 && code != 250 {
		b.Fatalf("code %d", code)
	}
}

func benchTextproto(b *testing.B, in string) {
	b.ReportAllocs()
	sr := strings.NewReader(in)
	br := bufio.NewReader(sr)
	tp := textproto.NewReader(br)
	code := 0
	for b.Loop() {
		sr.Reset(in)
		br.Reset(sr)
		c, _, err := tp.ReadResponse(0)
		if err != nil {
			b.Fatal(err)
		}
		code = c
	}
	if code != 550 && code != 250 {
		b.Fatalf("code %d", code)
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
