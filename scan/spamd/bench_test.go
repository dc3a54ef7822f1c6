package spamd_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
				if r := check(b.Context(), s); r.Action != want {
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

// BenchmarkOverhead sets the check beside spamc against an in-process spamd
// that answers at once, so the figures are the clients' own cost per message
// without the scoring.
func BenchmarkOverhead(b *testing.B) {
	const answer = "SPAMD/1.1 0 EX_OK\r\nContent-length: 9\r\nSpam: False ; 0.4 / 5.0\r\n\r\nNO_RELAYS"
	addr := peertest.Serve(b, func(c net.Conn) {
		// Read the request's header and Content-length octets, as spamd does.
		br := bufio.NewReader(c)
		n := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if v, ok := strings.CutPrefix(line, "Content-length: "); ok {
				n, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if line == "\r\n" {
				break
			}
		}
		io.CopyN(io.Discard, br, int64(n))
		io.WriteString(c, answer)
	})
	msg := benchMessages[0].msg
	b.Run("check", func(b *testing.B) {
		check := newScanner(b, spamd.Config{Address: addr, OnError: smtpcheck.FailTemp}).Check()
		s := session(msg)
		b.ReportAllocs()
		for b.Loop() {
			if r := check(b.Context(), s); r.Action != smtpcheck.Continue || r.Err != nil {
				b.Fatalf("action %v err %v", r.Action, r.Err)
			}
		}
	})
	b.Run("spamc", func(b *testing.B) {
		bin := peertest.Look(b, "spamc", "spamc")
		host, port, _ := net.SplitHostPort(addr)
		b.ReportAllocs()
		for b.Loop() {
			cmd := exec.Command(bin, "-d", host, "-p", port, "-y", "-x")
			cmd.Stdin = strings.NewReader(msg)
			if out, err := cmd.Output(); err != nil || !bytes.Contains(out, []byte("NO_RELAYS")) {
				b.Fatalf("spamc: %v, %q", err, out)
			}
		}
	})
}
