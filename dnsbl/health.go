package dnsbl

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// RFC 5782 section 5 test points: every IP list must list 127.0.0.2 and
// must not list 127.0.0.1; an IPv6-capable list must list ::FFFF:7F00:2
// and not ::FFFF:7F00:1 (asked in nibble form, not as IPv4); every domain
// list must list "test" and must not list "invalid".
var (
	testListedV4    = netip.AddrFrom4([4]byte{127, 0, 0, 2})
	testNotListedV4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	testListedV6    = netip.MustParseAddr("::ffff:7f00:2")
	testNotListedV6 = netip.MustParseAddr("::ffff:7f00:1")
)

// ZoneStatus is the health and the counters of one list.
type ZoneStatus struct {
	Zone    string // the list's zone
	Name    string // its name in replies and logs
	Healthy bool   // false: skipped in evaluations until a probe passes
	Reason  string // why it is unhealthy, "" when healthy
	Checked time.Time

	Queries    uint64        // evaluations that asked (or read from cache) this list
	Listed     uint64        // of those, listings
	Errors     uint64        // failures: timeouts, SERVFAIL, refusals
	Refused    uint64        // answers with a "query refused" code
	OutOfRange uint64        // answers outside 127.0.0.0/8, ignored
	Time       time.Duration // total time of the answers that came from the wire
}

// Status returns the health and counters of every list, in configuration
// order.
func (c *Checker) Status() []ZoneStatus {
	out := make([]ZoneStatus, len(c.zones))
	for i, z := range c.zones {
		z.mu.Lock()
		out[i] = ZoneStatus{Zone: z.Zone, Name: z.display(), Healthy: z.healthy, Reason: z.reason, Checked: z.checked}
		z.mu.Unlock()
		out[i].Queries = z.queries.Load()
		out[i].Listed = z.listed.Load()
		out[i].Errors = z.errors.Load()
		out[i].Refused = z.refused.Load()
		out[i].OutOfRange = z.outOfRange.Load()
		out[i].Time = time.Duration(z.nanos.Load())
	}
	return out
}

// Probe checks every zone's RFC 5782 test points once and marks it healthy
// or not. A zone that does not list its listed test point (gone, expired,
// answering NXDOMAIN for everything), lists its unlisted test point
// (wildcarded: it would list every client), refuses the probe, or fails to
// answer is marked unhealthy and skipped by later evaluations until a
// probe passes. Each change of health is logged. Probe returns the new
// statuses.
func (c *Checker) Probe(ctx context.Context) []ZoneStatus {
	var wg sync.WaitGroup
	for _, z := range c.zones {
		wg.Go(func() { c.probeZone(ctx, z) })
	}
	wg.Wait()
	return c.Status()
}

// RunHealth probes every interval until ctx ends, starting at once. Run it
// in its own goroutine.
func (c *Checker) RunHealth(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, c.timeout)
		c.Probe(pctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Checker) probeZone(ctx context.Context, z *zone) {
	reason := c.probeReason(ctx, z)
	z.mu.Lock()
	was := z.healthy
	z.healthy = reason == ""
	z.reason = reason
	z.checked = c.now()
	z.mu.Unlock()
	z.skipped.Store(reason != "")
	switch {
	case was && reason != "":
		c.log.Error("dnsbl: zone unhealthy, skipping it", "list", z.display(), "reason", reason)
	case !was && reason == "":
		c.log.Info("dnsbl: zone healthy again", "list", z.display())
	}
}

// probeReason returns why z fails its test points, or "".
func (c *Checker) probeReason(ctx context.Context, z *zone) string {
	type point struct {
		name   string
		listed bool
	}
	var points []point
	if c.kind == DomainList {
		points = []point{{"test." + z.Zone + ".", true}, {"invalid." + z.Zone + ".", false}}
	} else {
		points = []point{{ipQuery(testListedV4, z.Zone), true}, {ipQuery(testNotListedV4, z.Zone), false}}
		if z.IPv6 {
			points = append(points,
				point{string(appendReverse(nil, testListedV6)) + "." + z.Zone + ".", true},
				point{string(appendReverse(nil, testNotListedV6)) + "." + z.Zone + ".", false})
		}
	}
	for _, p := range points {
		a, err := c.res.Query(ctx, p.name, dns.TypeA)
		if err != nil {
			return fmt.Sprintf("test point %s: %v", c.logQuery(z, p.name), c.logErr(z, err))
		}
		listed := false
		for _, rr := range a.Records {
			ar, ok := rr.(*dns.A)
			if !ok {
				continue
			}
			ip, _ := netip.AddrFromSlice(ar.A.To4())
			if c.isRefused(ip) {
				return fmt.Sprintf("test point %s: query refused (answer %s)", c.logQuery(z, p.name), ip)
			}
			if ip.Is4() && ip.As4()[0] == 127 {
				listed = true
			}
		}
		switch {
		case p.listed && !listed:
			return fmt.Sprintf("test point %s is not listed (zone not answering as a list)", c.logQuery(z, p.name))
		case !p.listed && listed:
			return fmt.Sprintf("test point %s is listed (zone lists everything)", c.logQuery(z, p.name))
		}
	}
	return ""
}
