// Command explain tells what an SMTP reply means: its class, the meaning of
// its basic and enhanced codes, whether to retry, and which catalog entries
// (with their references, such as smtpf#120) produce that text.
//
//	go run ./examples/explain '550 5.7.1 recipient <bob@example.org> relaying denied'
//	printf '550-5.1.1 no such user\r\n550 5.1.1 see the FAQ\r\n' | go run ./examples/explain
//
// Each argument is one or more lines of the reply; without arguments the
// reply is read from standard input. The exit status is 0 for a reply, and 1,
// with the reason on standard error, for input that is not an SMTP reply.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
)

// maxInput bounds what is read from standard input: a reply is at most a
// few kilobytes, and a pasted bounce not much more.
const maxInput = 1 << 20

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	in := strings.Join(args, "\n")
	if len(args) == 0 {
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
