package main

import (
	"flag"
	"net"
	"os"

	"github.com/smtppolicy/smtppolicy/examples/gomilter"
)

// setup parses flags, builds the policy and returns the filter with its
// listener, ready to Serve: the program as run() starts it, without the
// signals.
func setup(args []string, stderr *os.File) (*gomilter.Filter, net.Listener, error) {
	d, err := newDaemon(args, stderr)
	if err != nil {
		return nil, nil, err
	}
	if d == nil {
		return nil, nil, flag.ErrHelp
	}
	return d.f, d.ln, nil
}
