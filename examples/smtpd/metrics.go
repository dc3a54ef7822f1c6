package main

import (
	"expvar"
	"log/slog"
	"net"
	"net/http"
	"time"

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

// serveMetrics serves /debug/vars on addr for the life of the program.
func serveMetrics(addr string, logger *slog.Logger) (*expvarMetrics, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	m := newExpvarMetrics()
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	go http.Serve(ln, mux)
	logger.Info("metrics on", "url", "http://"+ln.Addr().String()+"/debug/vars")
	return m, nil
}
