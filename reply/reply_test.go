package reply

import (
	"errors"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		enhanced string
		wantErr  error
	}{
		{"permanent", 550, "5.7.1", nil},
		{"transient", 451, "4.7.1", nil},
		{"positive", 250, "2.0.0", nil},
		{"no enhanced code", 250, "", nil},
		{"three-digit detail", 550, "5.7.27", nil},
		{"class mismatch 550 4.7.1", 550, "4.7.1", ErrClassMismatch},
		{"class mismatch 451 5.7.1", 451, "5.7.1", ErrClassMismatch},
		{"code below 200", 199, "", ErrCode},
		{"code over 599", 600, "", ErrCode},
		{"enhanced class 3", 354, "3.0.0", ErrEnhanced},
		{"enhanced four-digit part", 550, "5.7.1000", ErrEnhanced},
		{"enhanced two parts", 550, "5.7", ErrEnhanced},
		{"enhanced letters", 550, "5.x.1", ErrEnhanced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.code, tt.enhanced, "text")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New(%d, %q) error = %v, want %v", tt.code, tt.enhanced, err, tt.wantErr)
			}
			if err == nil && (r.Code() != tt.code || r.Enhanced().String() != tt.enhanced) {
				t.Errorf("New(%d, %q) = %d %s", tt.code, tt.enhanced, r.Code(), r.Enhanced())
			}
		})
	}
}

func TestAppendTo(t *testing.T) {
	long := strings.Repeat("word ", 150) // 750 octets
	tests := []struct {
		name string
		r    Reply
		want string
	}{
		{"catalog one line", RelayDenied("bob@example.org"),
			"550 5.7.1 recipient <bob@example.org> relaying denied\r\n"},
		{"no enhanced code", Hello("mx.example.org", "192.0.2.1"),
			"250 Hello mx.example.org [192.0.2.1]\r\n"},
		{"multi-line repeats the enhanced code", MustNew(550, "5.7.1", "first", "second"),
			"550-5.7.1 first\r\n550 5.7.1 second\r\n"},
		{"empty text", MustNew(250, "2.0.0"), "250 2.0.0\r\n"},
		{"empty text without enhanced code", MustNew(250, ""), "250\r\n"},
		{"CR LF in argument", HeloInvalid("evil\r\n250 2.0.0 ok"),
			"501 5.5.4 invalid HELO evil??250 2.0.0 ok\r\n"},
		{"NUL and 8-bit in argument", HeloInvalid("a\x00b\xffc"), "501 5.5.4 invalid HELO a?b?c\r\n"},
		{"CR LF in New text", MustNew(550, "5.7.1", "a\r\n550 b"), "550 5.7.1 a??550 b\r\n"},
		{"family code", ForwardSenderDenied(451, "bob@example.org"), "451 4.1.0 sender <bob@example.org> denied\r\n"},
		{"family code out of range keeps default", ForwardSenderDenied(250, "bob@example.org"), "550 5.1.0 sender <bob@example.org> denied\r\n"},
		{"family enhanced from forward host", ForwardRecipientDenied(550, Enhanced{5, 2, 2}, "bob@example.org"), "550 5.2.2 recipient <bob@example.org> denied\r\n"},
		{"plural", MessageRateExceeded("client", 1, 2, "hour"), "451 4.7.1 client has exceeded 1 message per 2 hours\r\n"},
		{"greeting", Greeting("mx.example.org", true), "220 mx.example.org ESMTP\r\n"},
		{"header byte", HeaderNotASCII(0xc3), "554 5.6.0 message headers must be US-ASCII, found 0xC3; RFC 2822 section 2.2\r\n"},
		{"zero reply", Reply{}, ""},
		{"folded", MustNew(550, "5.7.1", long),
			"550-5.7.1 " + strings.TrimSpace(strings.Repeat("word ", 100)) + "\r\n" +
				"550 5.7.1 " + strings.Repeat("word ", 50) + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.r.AppendTo(nil))
			if got != tt.want {
				t.Errorf("AppendTo() = %q, want %q", got, tt.want)
			}
			checkWire(t, got)
		})
	}
}

// checkWire asserts wire syntax: CRLF-terminated lines of at most 512
// octets, one code, '-' on all lines but the last, printable ASCII only.
func checkWire(t *testing.T, s string) {
	t.Helper()
	if s == "" {
		return
	}
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("reply %q does not end in CRLF", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	for i, l := range lines {
		if len(l)+2 > MaxLineLength {
			t.Errorf("line %d is %d octets with CRLF, over %d", i, len(l)+2, MaxLineLength)
		}
		if len(l) < 3 || l[:3] != lines[0][:3] {
			t.Errorf("line %d %q: code differs from %q", i, l, lines[0][:3])
		}
		last := i == len(lines)-1
		if len(l) > 3 && (l[3] == '-') == last {
			t.Errorf("line %d %q: wrong continuation mark (last=%v)", i, l, last)
		}
		if last && len(l) > 3 && l[3] != ' ' {
			t.Errorf("last line %q: separator %q", l, l[3])
		}
		for j := 0; j < len(l); j++ {
			if l[j] < 0x20 || l[j] > 0x7e {
				t.Fatalf("line %d %q: byte %#x at %d", i, l, l[j], j)
			}
		}
	}
}

func TestAppendToLongArguments(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	r := DNSBLListed(huge, huge, huge)
	got := string(r.AppendTo(nil))
	checkWire(t, got)
	if len(got) > 4*MaxLineLength {
		t.Errorf("DNSBLListed(1 MB args) wrote %d octets, want capped arguments", len(got))
	}
}

func TestAppendToReusesBuffer(t *testing.T) {
	buf := []byte("keep:")
	buf = HostBlacklisted("h", "192.0.2.1").AppendTo(buf)
	if want := "keep:550 5.7.1 host h [192.0.2.1] black listed\r\n"; string(buf) != want {
		t.Errorf("AppendTo(prefix) = %q, want %q", buf, want)
	}
}

func TestWithText(t *testing.T) {
	r := RelayDenied("bob@example.org").WithText("no relaying here")
	if got, want := r.String(), "550 5.7.1 no relaying here\r\n"; got != want {
		t.Errorf("WithText().String() = %q, want %q", got, want)
	}
	if r.Entry() != nil {
		t.Errorf("WithText().Entry() = %v, want nil", r.Entry().Name)
	}
}

func TestReplyAccessors(t *testing.T) {
	r := HostBlacklisted("h.example", "192.0.2.1")
	if r.Entry() == nil || r.Entry().Name != "HostBlacklisted" {
		t.Fatalf("HostBlacklisted().Entry() = %v", r.Entry())
	}
	if got := r.Args(); len(got) != 2 || got[0] != "h.example" || got[1] != "192.0.2.1" {
		t.Errorf("Args() = %q", got)
	}
	if got := r.Text(); len(got) != 1 || got[0] != "host h.example [192.0.2.1] black listed" {
		t.Errorf("Text() = %q", got)
	}
	if got := r.Error(); got != "550 5.7.1 host h.example [192.0.2.1] black listed" {
		t.Errorf("Error() = %q", got)
	}
	if !r.IsPermanent() || r.IsTransient() || r.IsPositive() || r.IsZero() {
		t.Errorf("class predicates wrong for %s", r.Error())
	}
}
