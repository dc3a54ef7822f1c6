package ops

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Admin is the running daemon's state, for its HTTP endpoints. Both
// funcs return what is in force now (a reload may replace the greylist),
// or nil when the feature is off.
type Admin struct {
	Greylist func() *greylist.Greylist
	// Limits is the store of the access map's limit counters.
	Limits func() store.Store
}

// WaitingTriplet is one line of GET /admin/greylist.
type WaitingTriplet struct {
	Key       string    `json:"key"`
	Client    string    `json:"client,omitempty"`
	Sender    string    `json:"sender"`
	Recipient string    `json:"recipient,omitempty"`
	First     time.Time `json:"first"`
	Ready     time.Time `json:"ready"`
	Expires   time.Time `json:"expires"`
	// Delay is the daemon's own greylist delay, in seconds.
	Delay int64 `json:"delay"`
}

// Counter is one line of GET /admin/limits.
type Counter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Handler serves, for a loopback listener only:
//
//	GET  /metrics                      Prometheus metrics (when m is set)
//	GET  /admin/greylist               triplets waiting out their delay (JSON)
//	POST /admin/greylist/release?key=K lets the triplet at K through at once
//	GET  /admin/limits                 the access map's limit counters (JSON)
//
// The daemon's own store is read and written while it runs, so the
// commands work with every store, memory: included, and never contend
// with the daemon for a bolt file's lock.
func (a Admin) Handler(m *Metrics, mux *http.ServeMux) *http.ServeMux {
	if mux == nil {
		mux = http.NewServeMux()
	}
	if m != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /admin/greylist", loopbackOnly(a.listGreylist))
	mux.HandleFunc("POST /admin/greylist/release", loopbackOnly(a.release))
	mux.HandleFunc("GET /admin/limits", loopbackOnly(a.listLimits))
	return mux
}

// loopbackOnly refuses clients from other hosts: the admin endpoints
// change the policy's state (a release lets mail through) and show who
// mails whom, while the metrics may be scraped from afar.
func loopbackOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Unmap().IsLoopback() {
			http.Error(w, "the admin endpoints answer loopback clients only", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// Serve serves mux on addr (HOST:PORT) until ctx ends.
func Serve(ctx context.Context, addr string, mux http.Handler) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return ln.Addr(), nil
}

func (a Admin) greylist(w http.ResponseWriter) *greylist.Greylist {
	var g *greylist.Greylist
	if a.Greylist != nil {
		g = a.Greylist()
	}
	if g == nil {
		http.Error(w, "greylisting is off", http.StatusNotFound)
	}
	return g
}

func (a Admin) listGreylist(w http.ResponseWriter, r *http.Request) {
	g := a.greylist(w)
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	out := []WaitingTriplet{}
	err := g.Pending(ctx, func(t greylist.Waiting) error {
		wt := WaitingTriplet{Key: t.Key, Sender: t.Triplet.Sender, Recipient: t.Triplet.Rcpt,
			First: t.First.UTC(), Ready: t.Ready.UTC(), Expires: t.Expires.UTC(),
			Delay: int64(t.Ready.Sub(t.First) / time.Second)}
		if t.Triplet.Client.IsValid() {
			wt.Client = t.Triplet.Client.String()
		}
		out = append(out, wt)
		return nil
	})
	writeListing(w, "greylist", out, err, func(t WaitingTriplet) string { return t.Key })
}

func (a Admin) release(w http.ResponseWriter, r *http.Request) {
	g := a.greylist(w)
	if g == nil {
		return
	}
	key := r.FormValue("key")
	if key == "" {
		http.Error(w, "release needs key=", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	switch err := g.ReleaseKey(ctx, key); {
	case errors.Is(err, greylist.ErrNotFound):
		http.Error(w, "no such triplet: "+key, http.StatusNotFound)
	case err != nil:
		http.Error(w, "releasing: "+err.Error(), http.StatusServiceUnavailable)
	default:
		writeJSON(w, map[string]string{"released": key})
	}
}

func (a Admin) listLimits(w http.ResponseWriter, r *http.Request) {
	var st store.Store
	if a.Limits != nil {
		st = a.Limits()
	}
	if st == nil {
		http.Error(w, "no access map limits", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	out := []Counter{}
	err := st.Scan(ctx, r.FormValue("prefix"), func(key string, value []byte) error {
		if _, err := strconv.ParseInt(strings.TrimSpace(string(value)), 10, 64); err == nil {
			out = append(out, Counter{Key: key, Value: string(value)})
		}
		return nil
	})
	writeListing(w, "limits", out, err, func(c Counter) string { return c.Key })
}

// writeListing answers with what was read from the store named what,
// sorted by key, or with 503 when reading it failed (err).
func writeListing[T any](w http.ResponseWriter, what string, out []T, err error, key func(T) string) {
	if err != nil {
		http.Error(w, "reading the "+what+" store: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
