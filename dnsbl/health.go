package dnsbl

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// RFC 5782 section 5 test points of IP lists: every IP list must list
// 127.0.0.2 and must not list 127.0.0.1; an IPv6-capable list must list
// ::FFFF:7F00:2 and not ::FFFF:7F00:1, asked in nibble form, not as IPv4.
var (
	testListedIP     = netip.AddrFrom4([4]byte{127, 0, 0, 2})
	testNotListedIP  = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	testListedIP6    = netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 2})
	testNotListedIP6 = netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1})
)

// TestPoint is one RFC 5782 section 5 test query of a list: the name to
// look up and whether a working list answers it with a listing.
type TestPoint struct {
	Query  string // such as "2.0.0.127.zen.example." or "test.dbl.example."
	Listed bool
}

// TestPoints returns the RFC 5782 section 5 test queries of a list in zone,
// built by the public query builders: for a DomainList, TEST (listed) and
// INVALID (not listed) through DomainQueryName; for an IPList, 127.0.0.2
// (listed) and 127.0.0.1 (not listed) through IPQueryName, and with ipv6
// their IPv6 forms ::FFFF:7F00:2 and ::FFFF:7F00:1 in nibble form. The
// health probe asks exactly these.
func TestPoints(kind Kind, zone string, ipv6 bool) ([]TestPoint, error) {
	if kind == DomainList {
		listed, err := DomainQueryName(TestListedDomain, zone)
		if err != nil {
			return nil, err
		}
		unlisted, err := DomainQueryName(TestNotListedDomain, zone)
		if err != nil {
			return nil, err
		}
		return []TestPoint{{listed, true}, {unlisted, false}}, nil
	}
	listed, err := IPQueryName(testListedIP, zone)
	if err != nil {
		return nil, err
	}
	unlisted, _ := IPQueryName(testNotListedIP, zone)
	points := []TestPoint{{listed, true}, {unlisted, false}}
	if ipv6 {
		// IPQueryName asks a mapped address as IPv4, as a client's is; the
		// RFC's IPv6 test points are the mapped addresses in nibble form.
		z, _ := canonZone(zone)
		points = append(points,
			TestPoint{string(appendReverse(nil, testListedIP6)) + "." + z + ".", true},
			TestPoint{string(appendReverse(nil, testNotListedIP6)) + "." + z + ".", false})
	}
	return points, nil
}

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
func (c *ClientLists) Status() []ZoneStatus {
	out := make([]ZoneStatus, len(c.zones))
	for i, z := range c.zones {
		z.mu.Lock()
		out[i] = ZoneStatus{Zone: z.Zone, Name: z.display(), Healthy: z.healthy, Reason: z.reason, Checked: z.checked}
		z.mu.Unlock()
		out[i].Queries, out[i].Listed = z.tally.counts()
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
func (c *ClientLists) Probe(ctx context.Context) []ZoneStatus {
	var wg sync.WaitGroup
	for _, z := range c.zones {
		wg.Go(func() { c.probeZone(ctx, z) })
	}
	wg.Wait()
	return c.Status()
}

// RunHealth probes every interval until ctx ends, starting at once. Run it
// in its own goroutine.
func (c *ClientLists) RunHealth(ctx context.Context, interval time.Duration) {
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

func (c *ClientLists) probeZone(ctx context.Context, z *zone) {
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
func (c *ClientLists) probeReason(ctx context.Context, z *zone) string {
	points, err := TestPoints(c.kind, z.Zone, z.IPv6)
	if err != nil {
		return "test points: " + err.Error()
	}
	for _, p := range points {
		a, err := c.res.Query(ctx, p.Query, resolver.TypeA)
		if err != nil {
			return fmt.Sprintf("test point %s: %v", c.logQuery(z, p.Query), c.logErr(z, err))
		}
		listed := false
		for _, ip := range a.Addrs() {
			if c.isRefused(ip) {
				return fmt.Sprintf("test point %s: query refused (answer %s)", c.logQuery(z, p.Query), ip)
			}
			if ip.Is4() && ip.As4()[0] == 127 {
				listed = true
			}
		}
		switch {
		case p.Listed && !listed:
			return fmt.Sprintf("test point %s is not listed (zone not answering as a list)", c.logQuery(z, p.Query))
		case !p.Listed && listed:
			return fmt.Sprintf("test point %s is listed (zone lists everything)", c.logQuery(z, p.Query))
		}
	}
	return ""
}
