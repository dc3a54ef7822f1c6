package gosmtp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// serveConfigured runs a server whose limits come from Backend.Configure,
// as a program sets it up.
func serveConfigured(t *testing.T, cfg gosmtp.Config) string {
	t.Helper()
	be := gosmtp.New(cfg)
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.ReadTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0) // the panic test's stack
	be.Configure(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(be.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// spoolFDs lists this process's open descriptors on files in dir (deleted
// or not): what a spool left open would show.
func spoolFDs(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, dir+"/") {
			out = append(out, e.Name()+" -> "+target)
		}
	}
	return out
}

// noSpoolLeft waits for the session to let go of its spool: no file in
// dir, no descriptor open on one.
func noSpoolLeft(t *testing.T, dir, path string) {
	t.Helper()
	var fds []string
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		fds = spoolFDs(t, dir)
		files, _ := os.ReadDir(dir)
		if len(fds) == 0 && len(files) == 0 {
			return
		}
	}
	files, _ := os.ReadDir(dir)
	t.Errorf("%s: spool left behind: %d files in %s, open descriptors %v", path, len(files), dir, fds)
}

// A message larger than MemoryPerMessage goes to a 0600 file that is gone
// however the transaction ends: accepted, refused by a check, refused for
// size, a delivery error, the client leaving mid-message, a panic.
func TestSpoolRemovedOnEveryPath(t *testing.T) {
	dir := t.TempDir()
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("y", 78)+"\r\n", 2000) // 160 kB
	var mode os.FileMode
	var whenDelivering []string
	cfg := gosmtp.Config{
		SpoolDir:         dir,
		MemoryPerMessage: 4096,
		MaxMessageBytes:  1 << 20,
		Policy: &smtpcheck.Policy{EndOfData: func(_ context.Context, s *smtpcheck.Session) smtpcheck.Result {
			if v, _ := s.Header.Get("Subject"); v == "reject" {
				return smtpcheck.Refuse(reply.SpamRejected(), smtpcheck.Reason{Check: "test"})
			}
			return smtpcheck.Result{}
		}},
		Deliver: func(ctx context.Context, m *gosmtp.Message) error {
			whenDelivering = spoolFDs(t, dir)
			if len(whenDelivering) > 0 {
				fd := strings.SplitN(whenDelivering[0], " ", 2)[0]
				if fi, err := os.Stat(filepath.Join("/proc/self/fd", fd)); err == nil {
					mode = fi.Mode().Perm()
				}
			}
			switch v, _ := m.Session.Header.Get("Subject"); v {
			case "fail":
				return errors.New("disk full")
			case "panic":
				panic("deliver panics")
			}
			rc, _ := m.Data.Open()
			defer rc.Close()
			n, _ := io.Copy(io.Discard, rc)
			if n != int64(len(big)) {
				t.Errorf("delivered %d bytes, want %d", n, len(big))
			}
			return nil
		},
	}
	addr := serveConfigured(t, cfg)
	send := func(subject string, size int) []string {
		c := dial(t, addr)
		c.reply()
		c.cmd("EHLO client.test")
		c.cmd("MAIL FROM:<a@client.test>")
		c.cmd("RCPT TO:<b@mx.test>")
		c.cmd("DATA")
		msg := strings.Replace(big, "Subject: big", "Subject: "+subject, 1)
		for len(msg) < size {
			msg += msg
		}
		c.conn.Write([]byte(msg + ".\r\n"))
		return c.reply()
	}
	for _, tt := range []struct {
		subject string
		size    int
		want    string
	}{
		{"big", 0, "250 "},
		{"reject", 0, "554 5.7.1"},
		{"oversize", 2 << 20, "552 5.3.4"},
		{"fail", 0, "451 4.3.0"},
		{"panic", 0, "421 "},
	} {
		whenDelivering = nil
		if r := send(tt.subject, tt.size); !strings.HasPrefix(r[0], tt.want) {
			t.Errorf("%s: reply %q, want %q", tt.subject, r, tt.want)
		}
		noSpoolLeft(t, dir, tt.subject)
	}
	if mode != 0o600 {
		t.Errorf("spool file mode %v, want 0600 (descriptors while delivering: %v)", mode, whenDelivering)
	}

	// The client leaves mid-message.
	c := dial(t, addr)
	c.reply()
	c.cmd("EHLO client.test")
	c.cmd("MAIL FROM:<a@client.test>")
	c.cmd("RCPT TO:<b@mx.test>")
	c.cmd("DATA")
	c.conn.Write([]byte(big))
	time.Sleep(100 * time.Millisecond)
	if len(spoolFDs(t, dir)) == 0 {
		t.Errorf("no spool file open while the message comes in: the test would prove nothing")
	}
	c.conn.Close()
	noSpoolLeft(t, dir, "disconnect")
}

// Body lines are not limited (go-smtp's 2000-octet limit used to cut the
// session), command lines are.
func TestLineLengths(t *testing.T) {
	var got []byte
	addr := serveConfigured(t, gosmtp.Config{Deliver: func(ctx context.Context, m *gosmtp.Message) error {
		rc, _ := m.Data.Open()
		defer rc.Close()
		got, _ = io.ReadAll(rc)
		return nil
	}})
	c := dial(t, addr)
	c.reply()
	c.cmd("EHLO client.test")
	c.cmd("MAIL FROM:<a@client.test>")
	c.cmd("RCPT TO:<b@mx.test>")
	c.cmd("DATA")
	msg := "Subject: long\r\n\r\n" + strings.Repeat("z", 100000) + "\r\n"
	c.conn.Write([]byte(msg + ".\r\n"))
	if r := c.reply(); !strings.HasPrefix(r[0], "250 ") {
		t.Fatalf("100000-octet body line: %q, want 250", r)
	}
	if string(got) != msg {
		t.Errorf("delivered %d bytes, want the %d sent", len(got), len(msg))
	}
	if r := c.cmd("NOOP " + strings.Repeat("n", 2041)); !strings.HasPrefix(r[0], "250") {
		t.Errorf("2048-octet command line (CRLF included): %q, want 250", r)
	}
	if r := c.cmd("NOOP " + strings.Repeat("n", 2042)); !strings.HasPrefix(r[0], "500 5.4.0") {
		t.Errorf("2049-octet command line: %q, want 500 5.4.0", r)
	}
}

// selfSigned returns a TLS configuration with a fresh certificate for
// mx.test.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		DNSNames:     []string{"mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// After STARTTLS the listener sees ciphertext, which has no lines: the
// command-line bound must not cut a TLS session, and long body lines pass
// there too.
func TestLongLinesUnderSTARTTLS(t *testing.T) {
	var got []byte
	be := gosmtp.New(gosmtp.Config{Deliver: func(ctx context.Context, m *gosmtp.Message) error {
		rc, _ := m.Data.Open()
		defer rc.Close()
		got, _ = io.ReadAll(rc)
		return nil
	}})
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.TLSConfig = selfSigned(t)
	be.Configure(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(be.Listener(ln))
	t.Cleanup(func() { srv.Close() })

	c, err := smtp.DialStartTLS(ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	// 4 MiB of ciphertext holds, almost surely, a stretch of more than
	// 2048 octets without a LF byte: a bound on such "lines" would cut it.
	msg := "Subject: tls\r\n\r\n" + strings.Repeat("<p>long line</p>", 2000) + "\r\n" + strings.Repeat(strings.Repeat("t", 78)+"\r\n", 4<<20/80)
	if err := c.SendMail("a@client.test", []string{"b@mx.test"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("4 MiB with a 32000-octet body line under TLS: %v", err)
	}
	if string(got) != msg {
		t.Errorf("delivered %d bytes, want the %d sent", len(got), len(msg))
	}
}
