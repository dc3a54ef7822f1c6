package spamd_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/scan/spamd"
	"github.com/smtppolicy/smtppolicy/scan/spamd/spamdtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

var benchMessages = []struct{ name, msg string }{
	{"plain", message("", plain)},
	{"gtube", message("", "Buy now!\r\n"+spamdtest.GTUBE)},
}

// BenchmarkCheck is the cost of the check per message against a real spamd;
// compare BenchmarkSpamc.
func BenchmarkCheck(b *testing.B) {
	srv := realSpamd(b)
	check := newScanner(b, spamd.Config{Address: srv.Addr, OnError: smtpcheck.FailTemp}).Check()
	for _, m := range benchMessages {
		s := session(m.msg)
		want := smtpcheck.Continue
		if m.name == "gtube" {
			want = smtpcheck.Reject
		}
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := check(context.Background(), s); r.Action != want {
					b.Fatalf("action %v, want %v (%s, err %v)", r.Action, want, r.Reason, r.Err)
				}
			}
		})
	}
}

// BenchmarkSpamc runs SpamAssassin's own client, spamc -y (SYMBOLS, as the
// check asks), on the same messages against the same spamd: the cost a
// filter pays that shells out per message.
func BenchmarkSpamc(b *testing.B) {
	srv := realSpamd(b)
	bin := peertest.Look(b, "spamc", "spamc")
	host, port, _ := net.SplitHostPort(srv.Addr)
	dir := b.TempDir()
	for _, m := range benchMessages {
		file := filepath.Join(dir, m.name+".eml")
		if err := os.WriteFile(file, []byte(m.msg), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, err := os.Open(file)
				if err != nil {
					b.Fatal(err)
				}
				cmd := exec.Command(bin, "-d", host, "-p", port, "-y", "-x")
				cmd.Stdin = f
				out, err := cmd.Output()
				f.Close()
				if err != nil || (m.name == "gtube") != bytes.Contains(out, []byte("GTUBE")) {
					b.Fatalf("spamc: %v, %q", err, out)
				}
			}
		})
	}
}
