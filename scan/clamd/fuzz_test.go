package clamd_test

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/scan/clamd"
)

// FuzzParseReply: any answer clamd (or something posing as it) sends is
// either a verdict or an error, never a panic; a verdict names a printable
// virus only when infected, and the kept answer is bounded.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"stream: OK\x00", "stream: Eicar-Signature FOUND\x00", "INSTREAM size limit exceeded. ERROR\x00", "1: stream: OK"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := clamd.ParseReply(s)
		if len(v.Reply) > 1024 {
			t.Fatalf("ParseReply kept %d octets", len(v.Reply))
		}
		if err != nil {
			if v.Infected {
				t.Fatalf("ParseReply(%q) = infected with error %v", s, err)
			}
			return
		}
		if v.Infected != (v.Virus != "") {
			t.Fatalf("ParseReply(%q) = %+v: infected and virus disagree", s, v)
		}
		if v.Infected && (strings.ContainsAny(v.Virus, "\x00\r\n") || !strings.Contains(s, v.Virus+" FOUND")) {
			t.Fatalf("ParseReply(%q) virus %q", s, v.Virus)
		}
	})
}
