// Command explain tells what an SMTP reply means: its class, the meaning of
// its basic and enhanced codes, whether to retry, and which catalog entries
// (with their references, such as smtpf#120) produce that text.
//
//	go run ./examples/explain '550 5.7.1 recipient <bob@example.org> relaying denied'
//	printf '550-5.1.1 no such user\r\n550 5.1.1 see the FAQ\r\n' | go run ./examples/explain
//
// Each argument is one or more lines of the reply; without arguments the
// reply is read from standard input, unless standard input is a terminal:
// then the usage is printed instead of waiting. The exit status is 0 for a
// reply, 1, with the reason on standard error, for input that is not an
// SMTP reply, and 2 for a bad command line; -h prints the usage and
// -version the module version, both with status 0.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/reply"
)

// maxInput bounds what is read from standard input: a reply is at most a
// few kilobytes, and a pasted bounce not much more.
const maxInput = 1 << 20

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: explain [REPLY LINE]...\n       command | explain\n\n"+
			"Tells what an SMTP reply means: its class, its codes, whether to retry,\n"+
			"and which catalog entries produce that text.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, "explain", daemon.Version())
		return 0
	}
	args = fs.Args()
	in := strings.Join(args, "\n")
	if len(args) == 0 {
		if f, ok := stdin.(*os.File); ok && isTerminal(f) {
			// Nobody is piping a reply in: say how to use the command
			// rather than wait silently for input.
			fs.Usage()
			return 2
		}
		b, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
		if err != nil {
			fmt.Fprintln(stderr, "explain: reading standard input:", err)
			return 1
		}
		if len(b) > maxInput {
			fmt.Fprintf(stderr, "explain: input over %d bytes is not an SMTP reply\n", maxInput)
			return 1
		}
		in = string(b)
	}
	x, err := reply.ExplainText(in)
	if err != nil {
		fmt.Fprintln(stderr, "explain: not an SMTP reply:", err)
		return 1
	}
	fmt.Fprint(stdout, x)
	return 0
}
