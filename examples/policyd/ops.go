package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/smtppolicy/smtppolicy/examples/internal/ops"
	"github.com/smtppolicy/smtppolicy/greylist"
)

// newLogger makes the logger -log-format and -syslog ask for; with
// Prometheus metrics on, every answer it logs is counted too.
func newLogger(o options, stderr io.Writer, prom *ops.Metrics) (*slog.Logger, error) {
	cfg := ops.LogConfig{Program: ops.PolicyService, Verbose: o.verbose}
	if prom != nil {
		cfg.OnVerdict, cfg.OnDecision = prom.Verdict, prom.Decision
	}
	logger, _, err := o.logFlags.Logger(stderr, "policyd", cfg)
	if err != nil {
		return nil, fmt.Errorf("-log-format/-syslog: %w", err)
	}
	return logger, nil
}

// serveMetrics serves Prometheus metrics and the admin endpoints on addr
// until ctx ends, on the greylist of the policy in force and the limit
// counters every policy shares.
func serveMetrics(ctx context.Context, addr string, logger *slog.Logger, prom *ops.Metrics, st *stores, srv *server) error {
	if st.res != nil {
		prom.WatchResolver(st.res)
	}
	a := ops.Admin{
		Greylist: func() *greylist.Greylist { return srv.current().grey },
		Limits:   st.asm.Limits,
	}
	prom.WatchGreylist(a.Greylist)
	bound, err := ops.Serve(ctx, addr, a.Handler(prom, nil))
	if err != nil {
		return err
	}
	logger.Info("metrics on", "url", "http://"+bound.String()+"/metrics", "admin", "/admin/greylist")
	return nil
}
