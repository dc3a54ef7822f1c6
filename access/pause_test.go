package access_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// The period tags: GreetPause:, CommandPause:, Grey-Connect: and Grey-To:
// take a period, zero included (it turns the feature off for the key);
// an unknown or misspelt tag is an error naming its file and line.
func TestPeriodTagsAndUnknownTags(t *testing.T) {
	tests := []struct {
		line    string
		key     string
		want    time.Duration
		wantErr string
	}{
		{"GreetPause:192.0.2 5", "GreetPause:192.0.2", 5 * time.Second, ""},
		{"GreetPause:192.0.2 0", "GreetPause:192.0.2", 0, ""},
		{"greetpause:192.0.2 500ms", "GreetPause:192.0.2", 500 * time.Millisecond, ""},
		{"CommandPause:example.com 2s", "CommandPause:example.com", 2 * time.Second, ""},
		{"CommandPause:[2001:db8::1] 0s", "CommandPause:[2001:0db8:0000:0000:0000:0000:0000:0001]", 0, ""},
		{"Grey-Connect:192.0.2 0", "Grey-Connect:192.0.2", 0, ""},
		{"Grey-To:postmaster@ 0m", "Grey-To:postmaster@", 0, ""},
		{"Grey-To:example.org 10m", "Grey-To:example.org", 10 * time.Minute, ""},
		{"GreetPause:192.0.2 soon", "", 0, `access.map:2: GreetPause:192.0.2: bad value: "soon" is not a period`},
		{"Grey-Connect:192.0.2 -1", "", 0, `access.map:2: Grey-Connect:192.0.2: bad value`},
		{"GreetPuase:192.0.2 5", "", 0, `access.map:2: unknown tag "GreetPuase" (want one of Connect, From`},
		{"Conect:192.0.2 REJECT", "", 0, `access.map:2: unknown tag "Conect"`},
		{"Spam:192.0.2 REJECT", "", 0, `access.map:2: unknown tag "Spam"`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			m, err := access.Parse(strings.NewReader("# a comment first\n"+tt.line+"\n"), "access.map")
			if tt.wantErr != "" {
				var le *access.LineError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &le) || le.Line != 2 {
					t.Fatalf("Parse(%q) = %v, want an error containing %q at line 2", tt.line, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.line, err)
			}
			v, ok := m.Get(tt.key)
			if !ok || v.Period != tt.want {
				t.Errorf("Get(%q) = %+v, %v; want period %v", tt.key, v, ok, tt.want)
			}
		})
	}
}

func TestClientPauses(t *testing.T) {
	a, err := access.New(access.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := access.Parse(strings.NewReader("GreetPause:192.0.2 3s\nGreetPause:192.0.2.7 0\nCommandPause:198.51.100 1s\n"), "access.map")
	if err != nil {
		t.Fatal(err)
	}
	a.Swap(m)
	ctx := t.Context()
	tests := []struct {
		ip        string
		greet     time.Duration
		greetOK   bool
		command   time.Duration
		commandOK bool
	}{
		{"192.0.2.1", 3 * time.Second, true, 0, false},
		{"192.0.2.7", 0, true, 0, false}, // the most specific key wins, even zero
		{"198.51.100.9", 0, false, time.Second, true},
		{"203.0.113.1", 0, false, 0, false},
	}
	for _, tt := range tests {
		s := checktest.NewSession(tt.ip).Session()
		g, gok := a.GreetPause(ctx, s)
		c, cok := a.CommandPause(ctx, s)
		if g != tt.greet || gok != tt.greetOK || c != tt.command || cok != tt.commandOK {
			t.Errorf("%s: GreetPause = %v, %v; CommandPause = %v, %v; want %v, %v; %v, %v", tt.ip, g, gok, c, cok, tt.greet, tt.greetOK, tt.command, tt.commandOK)
		}
	}
}

func ExampleAccess_GreetPause() {
	a, _ := access.New(access.Config{})
	m, _ := access.Parse(strings.NewReader("GreetPause:198.51.100 10s\nGreetPause:198.51.100.25 0\n"), "access.map")
	a.Swap(m)
	for _, ip := range []string{"198.51.100.1", "198.51.100.25", "203.0.113.1"} {
		d, ok := a.GreetPause(context.Background(), checktest.NewSession(ip).Session())
		fmt.Println(ip, d, ok)
	}
	// Output:
	// 198.51.100.1 10s true
	// 198.51.100.25 0s true
	// 203.0.113.1 0s false
}

func ExampleAccess_CommandPause() {
	a, _ := access.New(access.Config{})
	m, _ := access.Parse(strings.NewReader("CommandPause:dial.example 2s\n"), "access.map")
	a.Swap(m)
	s := checktest.NewSession("198.51.100.1").Session()
	s.Conn.Confirmed = []string{"host-1.dial.example"}
	d, ok := a.CommandPause(context.Background(), s)
	fmt.Println(d, ok)
	// Output: 2s true
}
