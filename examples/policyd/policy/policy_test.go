package policy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func TestReadSeveralRequests(t *testing.T) {
	in := "request=smtpd_access_policy\nsender=a@x\n\nrequest=smtpd_access_policy\r\nsender=b@y\r\n\r\n"
	r := NewReader(strings.NewReader(in))
	for _, want := range []string{"a@x", "b@y"} {
		req, err := r.Read()
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if req["sender"] != want {
			t.Errorf("Read()[sender] = %q, want %q", req["sender"], want)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("Read at end = %v, want io.EOF", err)
	}
}

func TestReadMalformed(t *testing.T) {
	tests := []struct{ name, in string }{
		{"no equals", "request\n\n"},
		{"empty name", "=x\n\n"},
		{"NUL", "a=b\x00c\n\n"},
		{"empty request", "\n"},
		{"long line", "a=" + strings.Repeat("x", MaxLine+10) + "\n\n"},
		{"too many attributes", strings.Repeat("a=b\n", 10) + func() string {
			var b strings.Builder
			for i := range MaxAttributes + 1 {
				b.WriteString("n" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "=v\n")
			}
			return b.String()
		}() + "\n"},
		{"ends inside a request", "a=b\n"},
		{"ends inside a line", "a=b"},
		{"huge request", strings.Repeat("a=b\n", MaxRequest/4+1) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.in)).Read()
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Read(%.30q) = %v, want ErrMalformed", tt.in, err)
			}
		})
	}
}

func TestSession(t *testing.T) {
	raw, err := os.ReadFile("testdata/rcpt.txt")
	if err != nil {
		t.Fatal(err)
	}
	req, err := NewReader(bytes.NewReader(raw)).Read()
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	s, err := req.Session()
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"stage", s.Stage.String(), "rcpt"},
		{"client", s.Conn.ClientIP.String(), "192.0.2.10"},
		{"confirmed", strings.Join(s.Conn.Confirmed, ","), "mx.example.org"},
		{"helo", s.Helo.Name, "mx.example.org"},
		{"from", s.Mail.From.String(), "alice@example.org"},
		{"rcpt", s.Rcpt.String(), "bob@example.net"},
		{"id", s.Conn.ID, "123.456.7"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("Session().%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	unknown := Request{"request": "smtpd_access_policy", "protocol_state": "RCPT", "client_address": "2001:db8::1", "client_name": "unknown", "reverse_client_name": "x.example"}
	s, err = unknown.Session()
	if err != nil || len(s.Conn.Confirmed) != 0 || len(s.Conn.PTR) != 1 {
		t.Errorf("Session(client_name=unknown) = %+v, %v, want no confirmed name and one PTR", s.Conn, err)
	}
	for name, bad := range map[string]Request{
		"other request": {"request": "junk", "protocol_state": "RCPT", "client_address": "192.0.2.1"},
		"VRFY":          {"request": "smtpd_access_policy", "protocol_state": "VRFY", "client_address": "192.0.2.1"},
	} {
		if _, err := bad.Session(); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Session(%s) = %v, want ErrUnsupported", name, err)
		}
	}
	if _, err := (Request{"request": "smtpd_access_policy", "protocol_state": "RCPT", "client_address": "nope"}).Session(); !errors.Is(err, ErrMalformed) {
		t.Errorf("Session(bad client_address) = %v, want ErrMalformed", err)
	}
}

func TestAction(t *testing.T) {
	tests := []struct {
		name string
		r    smtpcheck.Result
		want string
	}{
		{"no verdict", smtpcheck.Result{}, "DUNNO"},
		{"accept", smtpcheck.Result{Action: smtpcheck.Accept}, "DUNNO"},
		{"header", smtpcheck.Result{Headers: []smtpcheck.HeaderField{{Name: "X-Greylist", Value: "delayed 300 seconds"}}}, "PREPEND X-Greylist: delayed 300 seconds"},
		{"greylisted", smtpcheck.Result{Action: smtpcheck.DeferIfPermit, Reply: reply.Greylisted(300)}, "DEFER_IF_PERMIT 4.7.1 greylisted, try again in 300 seconds"},
		{"temp-fail", smtpcheck.Result{Action: smtpcheck.TempFail, Reply: reply.InternalError()}, "DEFER 4.3.0 internal server error"},
		{"reject", smtpcheck.Result{Action: smtpcheck.Reject, Reply: reply.RelayDenied("x@example.com")}, "REJECT 5.7.1 recipient <x@example.com> relaying denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Action(tt.r); got != tt.want {
				t.Errorf("Action(%s) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestWriteActionNoInjection(t *testing.T) {
	var b bytes.Buffer
	WriteAction(&b, "REJECT a\n\naction=DUNNO")
	if got := b.String(); got != "action=REJECT a  action=DUNNO\n\n" {
		t.Errorf("WriteAction = %q, want one line", got)
	}
}

func FuzzRead(f *testing.F) {
	if raw, err := os.ReadFile("testdata/rcpt.txt"); err == nil {
		f.Add(raw)
	}
	f.Add([]byte("a=b\n\nc=d\n\n"))
	f.Add([]byte("a\n\n"))
	f.Add([]byte("\x00=\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for range 100 {
			req, err := r.Read()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrMalformed) {
					t.Fatalf("Read error %v is neither io.EOF nor ErrMalformed", err)
				}
				return
			}
			if len(req) == 0 || len(req) > MaxAttributes {
				t.Fatalf("Read returned %d attributes", len(req))
			}
			req.Session() // must not panic
		}
	})
}
