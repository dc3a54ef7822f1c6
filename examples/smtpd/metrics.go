package main

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/internal/ops"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// expvarMetrics counts checks and decisions in expvar maps, served at
// /debug/vars: the library's metrics hook connected to the standard
// library's exporter (a Prometheus client would connect the same way).
type expvarMetrics struct {
	checks    *expvar.Map // "check stage action" -> count
	decisions *expvar.Map // "stage action" -> count
	checkNS   *expvar.Map // check -> total nanoseconds
}

func newExpvarMetrics() *expvarMetrics {
	// expvar names are process-wide: a second server in the same process
	// shares the first one's maps.
	root, ok := expvar.Get("smtppolicy").(*expvar.Map)
	if !ok {
		root = expvar.NewMap("smtppolicy")
	}
	child := func(name string) *expvar.Map {
		if m, ok := root.Get(name).(*expvar.Map); ok {
			return m
		}
		m := new(expvar.Map)
		root.Set(name, m)
		return m
	}
	return &expvarMetrics{checks: child("checks"), decisions: child("decisions"), checkNS: child("check_ns")}
}

func (m *expvarMetrics) CheckDone(check string, st smtpcheck.Stage, a smtpcheck.Action, took time.Duration, err error) {
	m.checks.Add(check+" "+st.String()+" "+a.String(), 1)
	m.checkNS.Add(check, int64(took))
}

func (m *expvarMetrics) Decided(st smtpcheck.Stage, a smtpcheck.Action, took time.Duration) {
	m.decisions.Add(st.String()+" "+a.String(), 1)
}

// serveMetrics serves, on addr for the life of the program, Prometheus
// metrics at /metrics, expvar at /debug/vars and the admin endpoints.
func serveMetrics(addr string, logger *slog.Logger, prom *ops.Metrics, res *resolver.Resolver, a ops.Admin) error {
	if res != nil {
		prom.WatchResolver(res)
	}
	prom.WatchGreylist(a.Greylist)
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", redactedVars())
	bound, err := ops.Serve(context.Background(), addr, a.Handler(prom, mux))
	if err != nil {
		return err
	}
	logger.Info("metrics on", "url", "http://"+bound.String()+"/metrics", "expvar", "/debug/vars", "admin", "/admin/greylist")
	return nil
}

// redactedVars serves expvar's variables as expvar.Handler does, but with
// the command line's passwords hidden: expvar publishes os.Args whole as
// "cmdline", and a -greylist redis://:PASSWORD@... would be readable by
// anyone who can reach the metrics address.
func redactedVars() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, "{\n")
		first := true
		expvar.Do(func(kv expvar.KeyValue) {
			if !first {
				fmt.Fprintf(w, ",\n")
			}
			first = false
			val := kv.Value.String()
			if kv.Key == "cmdline" {
				b, _ := json.Marshal(daemon.RedactArgs(os.Args))
				val = string(b)
			}
			fmt.Fprintf(w, "%q: %s", kv.Key, val)
		})
		fmt.Fprintf(w, "\n}\n")
	})
}
