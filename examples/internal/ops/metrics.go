package ops

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Metrics counts what the policy does for Prometheus: the library's
// metrics hook (smtpcheck.Metrics) for checks and decisions, the log
// handler's verdicts (LogConfig.OnVerdict) for verdicts by check and
// reply code, and the resolver's and the greylist's own counts read at
// each scrape. It has a registry of its own, so two daemons in one
// process (tests) do not collide.
type Metrics struct {
	Registry *prometheus.Registry

	verdicts  *prometheus.CounterVec
	checks    *prometheus.CounterVec
	checkTime *prometheus.HistogramVec
	decided   *prometheus.HistogramVec
	storeErrs *prometheus.CounterVec
	greylist  *prometheus.CounterVec
}

// NewMetrics returns Metrics registered in a new registry, with the Go
// runtime's and the process's collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smtppolicy_verdicts_total",
			Help: "Verdicts given, by the check that decided, the action and the reply code.",
		}, []string{"stage", "check", "action", "code"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smtppolicy_checks_total",
			Help: "Named checks run, by check, stage and the action each returned.",
		}, []string{"check", "stage", "action"}),
		checkTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "smtppolicy_check_duration_seconds",
			Help:    "Time each named check took.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10},
		}, []string{"check"}),
		decided: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "smtppolicy_decision_duration_seconds",
			Help:    "Time each policy evaluation took, by stage.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10},
		}, []string{"stage"}),
		storeErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smtppolicy_store_errors_total",
			Help: "Checks that could not reach their store (greylist, limits, ...), by check.",
		}, []string{"check"}),
		greylist: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smtppolicy_greylist_total",
			Help: "Greylisting's outcomes: new, early-retry, passed, known, ...",
		}, []string{"outcome"}),
	}
	m.Registry.MustRegister(m.greylist, m.verdicts, m.checks, m.checkTime, m.decided, m.storeErrs,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

var _ smtpcheck.Metrics = (*Metrics)(nil)

// CheckDone counts a named check and its time.
func (m *Metrics) CheckDone(check string, st smtpcheck.Stage, a smtpcheck.Action, took time.Duration, err error) {
	m.checks.WithLabelValues(check, st.String(), a.String()).Inc()
	m.checkTime.WithLabelValues(check).Observe(took.Seconds())
	if err != nil && errors.Is(err, store.ErrUnavailable) {
		m.storeErrs.WithLabelValues(check).Inc()
	}
}

// Decided times a policy evaluation.
func (m *Metrics) Decided(st smtpcheck.Stage, a smtpcheck.Action, took time.Duration) {
	m.decided.WithLabelValues(st.String()).Observe(took.Seconds())
}

// Verdict counts a verdict; give it as LogConfig.OnVerdict.
func (m *Metrics) Verdict(v Verdict) {
	m.verdicts.WithLabelValues(v.Stage.String(), v.Check(), v.Action, v.Code()).Inc()
}

// Decision counts greylisting's outcomes in a decision's trace; give it
// as LogConfig.OnDecision.
func (m *Metrics) Decision(d smtpcheck.Decision) {
	for _, st := range d.Steps {
		if st.Check == greylist.Name && st.Result.Err == nil && st.Result.Reason.Check == greylist.Name && st.Result.Reason.Rule != "" {
			m.greylist.WithLabelValues(st.Result.Reason.Rule).Inc()
		}
	}
}

// WatchResolver exports the resolver's counters: DNS queries, cache hits
// and misses, and failures.
func (m *Metrics) WatchResolver(r *resolver.Resolver) {
	counter := func(name, help string, f func(resolver.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(r.Stats())) })
	}
	m.Registry.MustRegister(
		counter("smtppolicy_dns_queries_total", "DNS queries asked of the resolver.", func(s resolver.Stats) uint64 { return s.Queries }),
		counter("smtppolicy_dns_cache_hits_total", "DNS queries answered from the cache.", func(s resolver.Stats) uint64 { return s.CacheHits }),
		counter("smtppolicy_dns_cache_misses_total", "DNS queries not in the cache.", func(s resolver.Stats) uint64 { return s.CacheMisses }),
		counter("smtppolicy_dns_errors_total", "DNS queries that ended in an error.", func(s resolver.Stats) uint64 { return s.Failures }),
	)
}

// WatchGreylist exports the number of triplets waiting out their delay,
// counted in the store at each scrape (any store: memory, bolt, Redis);
// g returns the greylist in force, or nil.
func (m *Metrics) WatchGreylist(g func() *greylist.Greylist) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smtppolicy_greylist_waiting",
		Help: "Greylisted triplets waiting for a retry.",
	}, func() float64 {
		gl := g()
		if gl == nil {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n := 0
		if err := gl.Pending(ctx, func(greylist.Waiting) error { n++; return nil }); err != nil {
			return -1
		}
		return float64(n)
	}))
}
