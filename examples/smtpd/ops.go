package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/examples/internal/ops"
	"github.com/smtppolicy/smtppolicy/greylist"
)

// newLogger makes the logger -log-format and -syslog ask for; with
// Prometheus metrics on, every verdict it logs is counted too.
func newLogger(f *ops.LogFlags, stderr io.Writer, verbose bool, prom *ops.Metrics) (*slog.Logger, error) {
	cfg := ops.LogConfig{Program: ops.SMTPServer, Verbose: verbose}
	if prom != nil {
		cfg.OnVerdict, cfg.OnDecision = prom.Verdict, prom.Decision
	}
	logger, _, err := f.Logger(stderr, "smtpd", cfg)
	if err != nil {
		return nil, fmt.Errorf("-log-format/-syslog: %w", err)
	}
	return logger, nil
}

// admin gives the admin endpoints the greylist of the policy in force
// and the limit counters every policy shares.
func (d *smtpDaemon) admin(st *assembly.Stores) ops.Admin {
	return ops.Admin{
		Greylist: func() *greylist.Greylist {
			if b := d.Load(); b != nil {
				return b.grey
			}
			return nil
		},
		Limits: st.Limits,
	}
}
