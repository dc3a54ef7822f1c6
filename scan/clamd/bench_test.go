package clamd_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/scan/clamd"
	"github.com/smtppolicy/smtppolicy/scan/clamd/clamdtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// benchMessages are a clean 4 KiB message and a small infected one.
func benchMessages() map[string]string {
	return map[string]string{
		"clean":    message(strings.Repeat("Shall we meet for lunch on Tuesday at noon, the usual place? ", 66)),
		"infected": message("See the file:\r\n" + clamdtest.EICAR()),
	}
}

// BenchmarkCheck is the cost of the check per message, against a real
// clamd over each socket; compare BenchmarkClamdscan.
func BenchmarkCheck(b *testing.B) {
	srv := realClamd(b)
	for _, sock := range []struct{ name, addr string }{{"tcp", srv.TCP}, {"unix", srv.Socket}} {
		check := newScanner(b, clamd.Config{Address: sock.addr, OnError: smtpcheck.FailTemp}).Check()
		for name, msg := range benchMessages() {
			s := session(msg)
			want := smtpcheck.Continue
			if name == "infected" {
				want = smtpcheck.Reject
			}
			b.Run(sock.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if r := check(b.Context(), s); r.Action != want {
						b.Fatalf("action %v, want %v (%s)", r.Action, want, r.Reason)
					}
				}
			})
		}
	}
}

// BenchmarkClamdscan runs ClamAV's own client, clamdscan --stream, on the
// same messages against the same clamd: the cost a filter pays that shells
// out per message.
func BenchmarkClamdscan(b *testing.B) {
	srv := realClamd(b)
	bin := peertest.Look(b, "clamdscan", "clamav-daemon")
	dir := b.TempDir()
	for _, sock := range []struct{ name, conf string }{
		{"tcp", "TCPSocket " + srv.TCP[strings.LastIndexByte(srv.TCP, ':')+1:] + "\nTCPAddr 127.0.0.1\n"},
		{"unix", "LocalSocket " + srv.Socket + "\n"},
	} {
		conf := filepath.Join(dir, sock.name+".conf")
		if err := os.WriteFile(conf, []byte(sock.conf), 0o644); err != nil {
			b.Fatal(err)
		}
		for name, msg := range benchMessages() {
			file := filepath.Join(dir, name+".eml")
			if err := os.WriteFile(file, []byte(msg), 0o644); err != nil {
				b.Fatal(err)
			}
			b.Run(sock.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					err := exec.Command(bin, "--config-file="+conf, "--stream", "--no-summary", "--quiet", file).Run()
					// clamdscan exits 0 for clean, 1 for a virus, 2 for an error.
					code := 0
					if ee, ok := err.(*exec.ExitError); ok {
						code = ee.ExitCode()
					} else if err != nil {
						b.Fatal(err)
					}
					if (name == "infected") != (code == 1) || code > 1 {
						b.Fatalf("clamdscan exit %d for the %s message", code, name)
					}
				}
			})
		}
	}
}

// BenchmarkOverhead sets the check beside clamdscan against an in-process
// clamd that answers at once, so the figures are the clients' own cost per
// message without the scan.
func BenchmarkOverhead(b *testing.B) {
	addr := peertest.Serve(b, func(c net.Conn) {
		readStream(c)
		c.Write([]byte("stream: OK\x00"))
	})
	msg := benchMessages()["clean"]
	b.Run("check", func(b *testing.B) {
		check := newScanner(b, clamd.Config{Address: addr, OnError: smtpcheck.FailTemp}).Check()
		s := session(msg)
		b.ReportAllocs()
		for b.Loop() {
			if r := check(b.Context(), s); r.Action != smtpcheck.Continue || r.Err != nil {
				b.Fatalf("action %v err %v", r.Action, r.Err)
			}
		}
	})
	b.Run("clamdscan", func(b *testing.B) {
		bin := peertest.Look(b, "clamdscan", "clamav-daemon")
		dir := b.TempDir()
		conf, file := filepath.Join(dir, "clamd.conf"), filepath.Join(dir, "clean.eml")
		_, port, _ := net.SplitHostPort(addr)
		os.WriteFile(conf, []byte("TCPSocket "+port+"\nTCPAddr 127.0.0.1\n"), 0o644)
		os.WriteFile(file, []byte(msg), 0o644)
		b.ReportAllocs()
		for b.Loop() {
			if err := exec.Command(bin, "--config-file="+conf, "--stream", "--no-summary", "--quiet", file).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
