package callout_test

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// startSink runs Postfix's smtp-sink on a free loopback port with args
// (such as "-f RCPT" to refuse RCPT TO with a 5xx) and returns the port.
func startSink(t *testing.T, args ...string) int {
	t.Helper()
	bin := peertest.Look(t, "smtp-sink", "postfix")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody") // smtp-sink refuses to run as root
	}
	cmd := exec.Command(bin, append(args, "127.0.0.1:"+itoa(port), "10")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+itoa(port)); err == nil {
			c.Close()
			return port
		}
	}
	t.Fatalf("smtp-sink did not listen on port %d: %s", port, stderr.String())
	return 0
}

// Postfix's smtp-sink, found through MX records the in-process DNS server
// serves: accepting, refusing RCPT with a 5xx or a 4xx, or hanging up at
// RCPT gives the verdict a user expects.
func TestVerifyAgainstSMTPSink(t *testing.T) {
	_, r := newDNS(t, "sink.test. 300 IN MX 10 mx.sink.test.", "mx.sink.test. 300 IN A 127.0.0.1")
	for _, tc := range []struct {
		name string
		args []string
		want callout.Status
		code int
	}{
		{"accepts", nil, callout.Deliverable, 250},
		{"refuses", []string{"-f", "RCPT"}, callout.Undeliverable, 500},
		{"defers", []string{"-r", "RCPT"}, callout.Undetermined, 450},
		{"refuses null sender", []string{"-f", "MAIL"}, callout.Undeliverable, 500},
		{"hangs up", []string{"-q", "RCPT"}, callout.Undetermined, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := startSink(t, tc.args...)
			v := newVerifier(t, callout.Config{Resolver: r}, port)
			vd := v.Verify(t.Context(), addr("user@sink.test"))
			if vd.Status != tc.want || vd.Code != tc.code {
				t.Errorf("Verify = %v code %d (%s), want %v code %d", vd.Status, vd.Code, vd, tc.want, tc.code)
			}
		})
	}
}

// A configured probe sender that smtp-sink refuses says nothing about the
// address: undetermined, never undeliverable.
func TestVerifyRefusedProbeSender(t *testing.T) {
	_, r := newDNS(t, "sink.test. 300 IN MX 10 mx.sink.test.", "mx.sink.test. 300 IN A 127.0.0.1")
	port := startSink(t, "-f", "MAIL")
	v := newVerifier(t, callout.Config{Resolver: r, Sender: "verify@example.org"}, port)
	if vd := v.Verify(t.Context(), addr("user@sink.test")); vd.Status != callout.Undetermined || vd.Step != callout.StepMail {
		t.Errorf("Verify = %v at %q (%s), want undetermined at mail", vd.Status, vd.Step, vd)
	}
}
