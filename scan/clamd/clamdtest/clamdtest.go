// Package clamdtest runs a private ClamAV clamd for tests: started in the
// foreground from Debian's /usr/sbin/clamd with its own configuration in a
// temporary directory, listening on a unix socket and on an ephemeral
// loopback TCP port, and loading one signature database it writes itself (the
// EICAR test file's), so no download is needed and it starts in about a
// second.
//
// A missing clamd skips the test with a one-line reason, or fails it when
// SMTPPOLICY_REQUIRE_PEERS=1 (see internal/peertest).
package clamdtest

import (
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// Signature is the name clamd reports for EICAR with the database Launch
// writes (clamd adds ".UNOFFICIAL" to signatures from local databases).
const Signature = "Smtppolicy.Test.EICAR.UNOFFICIAL"

// EICAR returns the EICAR anti-virus test file, which every scanner detects
// and which does no harm. It is built from two halves so that scanners on
// developers' machines leave this source file alone.
func EICAR() string {
	return `X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
}

// Options adjust the daemon.
type Options struct {
	// StreamMaxLength is clamd's limit on an INSTREAM stream, in clamd's
	// syntax ("1M", "64K"); empty keeps clamd's default.
	StreamMaxLength string
}

// Server is a running clamd.
type Server struct {
	// Socket is the unix socket's path.
	Socket string
	// TCP is the loopback host:port.
	TCP string
	// Dir holds the configuration, database and log.
	Dir string

	w *peertest.Workdir
}

// ErrMissing is returned by Launch when clamd is not installed.
var ErrMissing = errors.New("clamd not installed (Debian package clamav-daemon); .ci/run installs it")

// Path returns the clamd program's path, or "" when it is not installed.
func Path() string {
	return peertest.Find("clamd", "/usr/sbin/clamd", "/usr/local/sbin/clamd")
}

// Start launches a clamd that stops when the test ends. A missing clamd
// skips the test (or fails it when peers are required).
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	return peertest.Start(t, ErrMissing, func() (*Server, error) { return Launch(o) })
}

// Launch starts a clamd and waits until it answers PING; Close stops it.
// For a daemon shared by a package's tests, call it from TestMain or a
// sync.Once.
func Launch(o Options) (*Server, error) {
	bin := Path()
	if bin == "" {
		return nil, ErrMissing
	}
	// The port is chosen by listening on port 0 and closing: another
	// process may take it before clamd does, so a failed start is retried.
	return peertest.Retry(func() (*Server, error) { return launch(bin, o) })
}

func launch(bin string, o Options) (*Server, error) {
	w, err := peertest.NewWorkdir("clamdtest", "clamd.out")
	if err != nil {
		return nil, err
	}
	dir := w.Path
	s := &Server{Dir: dir, Socket: filepath.Join(dir, "clamd.sock"), w: w}
	fail := func(err error) (*Server, error) { return nil, w.Fail(err) }
	port, err := peertest.FreePort()
	if err != nil {
		return fail(err)
	}
	s.TCP = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		return fail(err)
	}
	// An extended signature (.ndb): any file type, any offset, the EICAR
	// octets in hex.
	sig := strings.TrimSuffix(Signature, ".UNOFFICIAL") + ":0:*:" + hex.EncodeToString([]byte(EICAR())) + "\n"
	if err := os.WriteFile(filepath.Join(db, "smtppolicy-test.ndb"), []byte(sig), 0o644); err != nil {
		return fail(err)
	}
	conf := []string{
		"Foreground yes",
		"LocalSocket " + s.Socket,
		"TCPSocket " + strconv.Itoa(port),
		"TCPAddr 127.0.0.1",
		"DatabaseDirectory " + db,
		"TemporaryDirectory " + dir,
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"LogTime yes",
		"MaxThreads 4",
	}
	if o.StreamMaxLength != "" {
		conf = append(conf, "StreamMaxLength "+o.StreamMaxLength)
	}
	cf := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(cf, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		return fail(err)
	}
	cmd := exec.Command(bin, "-c", cf)
	err = w.Start("clamd", cmd, func() error {
		if err := ping("unix", s.Socket); err != nil {
			return err
		}
		return ping("tcp", s.TCP)
	}, 50*time.Millisecond, 60*time.Second)
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// Close stops clamd and removes its directory.
func (s *Server) Close() { s.w.Close(5 * time.Second) }

// Log returns clamd's log so far.
func (s *Server) Log() string { return s.w.Read("clamd.log") }

func ping(network, addr string) error {
	return peertest.Ping(network, addr, "zPING\x00", 0, "PONG\x00", 2*time.Second)
}
