package arc_test

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/msgauth/arc"
)

// dkimpy is Debian's python3-dkim, an independent ARC implementation:
// the interpreter its arcverify program runs under, with dkim and
// authres importable.
type dkimpy struct {
	python string
	script string
}

func findDkimpy(t testing.TB) dkimpy {
	t.Helper()
	prog := peertest.Look(t, "arcverify", "python3-dkim")
	f, err := os.Open(prog)
	if err != nil {
		peertest.Missing(t, "dkimpy's arcverify unreadable: "+err.Error())
	}
	line, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	python := strings.TrimSpace(strings.TrimPrefix(line, "#!"))
	if python == "" || strings.ContainsRune(python, ' ') {
		python = "/usr/bin/python3"
	}
	if out, err := exec.Command(python, "-c", "import dkim, authres, dns.query").CombinedOutput(); err != nil {
		peertest.Missing(t, "dkimpy not importable by "+python+" (Debian packages python3-dkim python3-authres): "+strings.TrimSpace(string(out)))
	}
	script, err := filepath.Abs("testdata/dkimpy_arc.py")
	if err != nil {
		t.Fatal(err)
	}
	return dkimpy{python: python, script: script}
}

func (p dkimpy) run(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(p.python, append([]string{p.script}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("dkimpy %s: %v\n%s", args[0], err, errb.String())
	}
	return out.String()
}

// verify returns dkimpy's cv= and reason for each of msgs, keys from w's
// DNS (one run of the interpreter: starting it costs seconds).
func (p dkimpy) verify(t testing.TB, w *world, msgs ...string) ([]arc.State, []string) {
	t.Helper()
	out := p.run(t, strings.Join(msgs, "\x00"), "verify", w.dns.Addr())
	var states []arc.State
	var reasons []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		cv, reason, _ := strings.Cut(line, "; ")
		states, reasons = append(states, arc.State(strings.TrimPrefix(cv, "cv="))), append(reasons, reason)
	}
	if len(states) != len(msgs) {
		t.Fatalf("dkimpy answered %q for %d messages", out, len(msgs))
	}
	return states, reasons
}

// timeVerify is dkimpy's wall and CPU ns per verification of msg over n
// runs.
func (p dkimpy) timeVerify(t testing.TB, w *world, msg string, n int) (wall, cpu float64) {
	t.Helper()
	out := p.run(t, msg, "verify", w.dns.Addr(), strconv.Itoa(n))
	_, figures, _ := strings.Cut(out, "ns/op ")
	ws, cs, _ := strings.Cut(strings.TrimSpace(figures), " cpu-ns/op ")
	wall, err1 := strconv.ParseFloat(ws, 64)
	cpu, err2 := strconv.ParseFloat(cs, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("dkimpy timing %q", out)
	}
	return wall, cpu
}

// seal adds dkimpy's set (rsa-sha256, by the list) to msg; the message
// must carry the list's Authentication-Results, from which dkimpy takes
// the arc= result for cv=.
func (p dkimpy) seal(t testing.TB, msg, authResults string) string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "rsa.pem")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keys().rsa)})
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	out := p.run(t, "Authentication-Results: "+authResults+"\r\n"+msg, "sign", "rsa", list, keyFile, list)
	// The next hop writes its own: dkimpy takes every one of its
	// authserv-id's as this hop's.
	return strings.Replace(out, "\r\nAuthentication-Results: "+authResults+"\r\n", "\r\n", 1)
}

// dkimpy verifies the chains Sign makes, and Verify the ones dkimpy
// makes, hop after hop; both find the same tampering.
func TestDkimpyInterop(t *testing.T) {
	py := findDkimpy(t)
	w := newWorld(t)
	// dkimpy's ARC knows rsa-sha256 only ("unknown signature algorithm"
	// for ed25519-sha256), so the ed25519 chains are checked by our tests
	// alone.
	for _, sel := range []string{"rsa"} {
		t.Run("dkimpy verifies ours/"+sel, func(t *testing.T) {
			msgs := []string{listed(t, original, sel, arc.None), twoHops(t, sel), seal(t, twoHops(t, sel), list, sel, arc.Pass)}
			tampered := strings.Replace(twoHops(t, sel), "Thanks", "Thank", 1)
			cvs, whys := py.verify(t, w, append(msgs, tampered)...)
			for hops, msg := range msgs {
				if cvs[hops] != arc.Pass {
					t.Errorf("%d hops: dkimpy cv=%s (%s), want pass\n%s", hops+1, cvs[hops], whys[hops], msg)
				}
			}
			if cvs[3] != arc.Fail {
				t.Errorf("tampered: dkimpy cv=%s, want fail", cvs[3])
			}
			if r := verify(t, w, tampered); r.State != arc.Fail {
				t.Errorf("tampered: Verify = %s, want fail", r.State)
			}
		})
	}
	t.Run("we verify dkimpy's", func(t *testing.T) {
		// Hop 1 by dkimpy, hop 2 by us, hop 3 by dkimpy.
		one := py.seal(t, original, list+"; arc=none; dkim=pass header.d=example.net")
		if r := verify(t, w, one); r.State != arc.Pass {
			t.Fatalf("dkimpy's first set: Verify = %s (%v), want pass\n%s", r.State, r.Err, one)
		}
		two := seal(t, one, fwd, "rsa", arc.Pass)
		three := py.seal(t, two, list+"; arc=pass; dkim=pass header.d=example.net")
		r := verify(t, w, three)
		if r.State != arc.Pass || len(r.Sets) != 3 || r.Sets[1].Sealer != fwd || r.Sets[2].CV != arc.Pass {
			t.Fatalf("mixed chain: Verify = %s (%v) with sets %+v, want pass over 3", r.State, r.Err, r.Sets)
		}
		tampered := strings.Replace(three, "ARC-Authentication-Results: i=2; fwd.example.com; arc=pass", "ARC-Authentication-Results: i=2; fwd.example.com; arc=none", 1)
		if r := verify(t, w, tampered); r.State != arc.Fail || errKind(r.Err) != "signature" {
			t.Errorf("altered results: Verify = %s (%v), want a seal failure", r.State, r.Err)
		}
		cvs, whys := py.verify(t, w, three, tampered)
		if cvs[0] != arc.Pass {
			t.Errorf("mixed chain: dkimpy cv=%s (%s), want pass", cvs[0], whys[0])
		}
		if cvs[1] != arc.Fail {
			t.Errorf("altered results: dkimpy cv=%s, want fail", cvs[1])
		}
	})
}
