package main

import (
	"flag"
	"log/slog"
	"net"
	"os"

	"github.com/emersion/go-smtp"
)

// setup parses flags, builds the policy and returns a server with its
// (wrapped) listener, ready to Serve: the program as run() starts it,
// without the signals.
func setup(args []string, stderr *os.File) (*smtp.Server, net.Listener, *slog.Logger, error) {
	d, err := newDaemon(args, stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	if d == nil {
		return nil, nil, nil, flag.ErrHelp
	}
	return d.srv, d.ln, d.logger, nil
}
