package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseListen(t *testing.T) {
	tests := []struct {
		spec, network, addr, err string
	}{
		{"127.0.0.1:10040", "tcp", "127.0.0.1:10040", ""},
		{"inet:127.0.0.1:10040", "tcp", "127.0.0.1:10040", ""},
		{"inet:[::1]:25", "tcp", "[::1]:25", ""},
		{"[::1]:25", "tcp", "[::1]:25", ""},
		{":2525", "tcp", ":2525", ""},
		{"inet:localhost:smtp", "tcp", "localhost:smtp", ""},
		{"unix:/var/spool/postfix/private/policy", "unix", "/var/spool/postfix/private/policy", ""},
		{"unix:relative.sock", "unix", "relative.sock", ""},
		{"unix:", "", "", "unix: needs a socket path"},
		{"127.0.0.1", "", "", "want inet:HOST:PORT, HOST:PORT or unix:/path"},
		{"tcp:127.0.0.1:25", "", "", "want inet:HOST:PORT"},
		{"127.0.0.1:", "", "", "no port"},
		{"", "", "", "want inet:HOST:PORT"},
	}
	for _, tt := range tests {
		network, addr, err := ParseListen(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseListen(%q) = %q, %q, %v; want error %q", tt.spec, network, addr, err, tt.err)
			}
			continue
		}
		if err != nil || network != tt.network || addr != tt.addr {
			t.Errorf("ParseListen(%q) = %q, %q, %v; want %q, %q", tt.spec, network, addr, err, tt.network, tt.addr)
		}
	}
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]fs.FileMode{"0660": 0o660, "600": 0o600, "0777": 0o777} {
		if got, err := ParseMode(s); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %o, %v; want %o", s, got, err, want)
		}
	}
	for _, s := range []string{"", "rw", "0888", "01777", "66x"} {
		if _, err := ParseMode(s); err == nil {
			t.Errorf("ParseMode(%q) = nil error, want one", s)
		}
	}
}

// A Unix socket gets its mode whatever the umask; a stale socket file is
// replaced, a live one or another kind of file is refused.
func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	ln, err := Listen("unix:"+sock, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(sock); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	if _, err := Listen("unix:"+sock, 0o600); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second Listen on a live socket = %v, want refused", err)
	}
	// A crash leaves the file behind: the next start replaces it.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	ln, err = Listen("unix:"+sock, 0o666)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln.Close()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := Listen("unix:"+file, 0o600); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen on a regular file = %v, want refused", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://:s3cret@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"rediss://user:s3cret@redis.example:6380/1", "rediss://user:xxxxx@redis.example:6380/1"},
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://user@127.0.0.1:6379/0", "redis://user@127.0.0.1:6379/0"},
		{"bolt:/var/lib/smtppolicy/greylist.db", "bolt:/var/lib/smtppolicy/greylist.db"},
		{"memory:", "memory:"},
		{"redis://:bad%zz@host/0", "redis://xxxxx@host/0"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	args := []string{"smtpd", "-greylist", "redis://:pw1@h/0", "--greylist=redis://:pw2@h/0", "-v"}
	got := strings.Join(RedactArgs(args), " ")
	if want := "smtpd -greylist redis://:xxxxx@h/0 --greylist=redis://:xxxxx@h/0 -v"; got != want {
		t.Errorf("RedactArgs = %q, want %q", got, want)
	}
	err := RedactError(errors.New(`storespec: redis://:pw1@h/0: WRONGPASS pw1 rejected`), "redis://:pw1@h/0")
	if strings.Contains(err.Error(), "pw1") {
		t.Errorf("RedactError left the password: %v", err)
	}
}

func ExampleParseListen() {
	for _, spec := range []string{"inet:127.0.0.1:10040", "127.0.0.1:10040", "unix:/var/run/policyd.sock"} {
		network, addr, _ := ParseListen(spec)
		fmt.Println(network, addr)
	}
	// Output:
	// tcp 127.0.0.1:10040
	// tcp 127.0.0.1:10040
	// unix /var/run/policyd.sock
}

func ExampleRedactURL() {
	fmt.Println(RedactURL("redis://:s3cret@10.0.0.5:6379/0"))
	// Output: redis://:xxxxx@10.0.0.5:6379/0
}

func ExampleRedactArgs() {
	fmt.Println(RedactArgs([]string{"policyd", "-greylist", "redis://:s3cret@10.0.0.5:6379/0"}))
	// Output: [policyd -greylist redis://:xxxxx@10.0.0.5:6379/0]
}

func ExampleParseMode() {
	m, _ := ParseMode("0660")
	fmt.Println(m)
	// Output: -rw-rw----
}

func ExampleRetrying() {
	ln, err := Listen("inet:127.0.0.1:0", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Accept now rides out EMFILE and the like instead of failing.
	ln = Retrying(ln, slog.New(slog.DiscardHandler))
	defer ln.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
		}
	}()
	c, err := ln.Accept()
	fmt.Println(err)
	c.Close()
	// Output: <nil>
}

func TestHost(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	var p PolicyFlags
	var domains ListFlag
	nets, res, err := p.Host(&domains, "192.0.2.0/24,2001:db8::1", logger)
	if err != nil || res != nil {
		t.Fatalf("Host() = %v, %v, %v, want no resolver and no error", nets, res, err)
	}
	if got, want := fmt.Sprint(domains), "[example.org localhost]"; got != want {
		t.Errorf("Host() left the domains %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(nets), "[192.0.2.0/24 2001:db8::1/128]"; got != want {
		t.Errorf("Host() = %s, want %s", got, want)
	}
	domains = ListFlag{"mx.example"}
	if _, _, err := p.Host(&domains, "none", logger); err != nil || fmt.Sprint(domains) != "[mx.example]" {
		t.Errorf("Host() with -domain mx.example = %v, domains %v, want nil, [mx.example]", err, domains)
	}
	if _, _, err := p.Host(&domains, "not-a-network", logger); err == nil {
		t.Error("Host() with -trusted not-a-network = nil error")
	}
}
