package callout

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Verify returns the verdict on addr: from the verify cache when it holds a
// fresh one, otherwise from a probe, whose verdict is then cached. It
// returns within Config.Timeout (or ctx's deadline, if sooner); a cache that
// cannot be read or written is logged and probed past, never a failure.
func (v *Verifier) Verify(ctx context.Context, addr smtpcheck.Address) Verdict {
	return v.verifyAt(ctx, addr, v.cfg.Now())
}

// now is the time a check reads cache ages against: the time the command
// arrived, which the session already holds (a clock read costs as much as
// the rest of a cached verdict), unless Config.Now gives a clock of its own.
func (v *Verifier) now(s *smtpcheck.Session) time.Time {
	if v.ownClock || s.Now.IsZero() {
		return v.cfg.Now()
	}
	return s.Now
}

func (v *Verifier) verifyAt(ctx context.Context, addr smtpcheck.Address, now time.Time) Verdict {
	key := v.key(addr)
	var old Verdict
	var have bool
	if v.cfg.Store != nil {
		if b, ok, err := v.cfg.Store.Get(ctx, key); err != nil {
			v.log.LogAttrs(ctx, slog.LevelWarn, "callout: verify cache unreadable; probing", slog.Any("error", err))
		} else if ok {
			old, have = decode(b)
		}
	}
	if have {
		age := now.Sub(old.Checked)
		if ttl := v.ttl(old.Status); ttl > 0 && age < ttl && (age < v.refresh(old.Status)) {
			old.Cached = true
			return old
		}
	}
	nv := v.shared(ctx, key, addr, func() Verdict {
		nv := v.probeAddress(ctx, addr)
		nv.Checked = now
		if have && nv.Status == Undetermined && old.Status != Undetermined && now.Sub(old.Checked) < v.ttl(old.Status) {
			// Postfix keeps a verdict whose refresh probe could not decide.
			old.Cached = true
			return old
		}
		v.log.LogAttrs(ctx, slog.LevelInfo, "callout: probed", slog.String("address", nv.Address),
			slog.String("status", nv.Status.String()), slog.String("step", nv.Step), slog.String("said", nv.String()))
		if ttl := v.ttl(nv.Status); v.cfg.Store != nil && ttl > 0 {
			if err := v.cfg.Store.Set(ctx, key, encode(nv), ttl); err != nil {
				v.log.LogAttrs(ctx, slog.LevelWarn, "callout: verify cache unwritable", slog.Any("error", err))
			}
		}
		return nv
	})
	return nv
}

// flight is one probe under way, which verifications of the same address
// wait for rather than probe the same server again.
type flight struct {
	done chan struct{}
	v    Verdict
}

// shared runs probe, which probes addr and caches the verdict, or waits
// for the run under way for the same key, so that a burst of mail from a
// new sender probes its MX host once.
func (v *Verifier) shared(ctx context.Context, key string, addr smtpcheck.Address, probe func() Verdict) Verdict {
	v.mu.Lock()
	if f, ok := v.flights[key]; ok {
		v.mu.Unlock()
		select {
		case <-f.done:
			return f.v
		case <-ctx.Done():
			return Verdict{Address: addr.Local + "@" + addr.DomainFold(), Status: Undetermined, Step: StepConnect,
				Host: addr.DomainFold(), Said: "deadline reached waiting for the probe under way", Checked: v.cfg.Now()}
		}
	}
	f := &flight{done: make(chan struct{})}
	v.flights[key] = f
	v.mu.Unlock()
	defer func() {
		v.mu.Lock()
		delete(v.flights, key)
		v.mu.Unlock()
		close(f.done)
	}()
	f.v = probe()
	return f.v
}

// ttl is how long a verdict of status s is cached.
func (v *Verifier) ttl(s Status) time.Duration {
	return v.byStatus(s, v.cfg.PositiveTTL, v.cfg.NegativeTTL)
}

// refresh is how old a cached verdict of status s may grow before it is
// asked again: its TTL for an undetermined one.
func (v *Verifier) refresh(s Status) time.Duration {
	return v.byStatus(s, v.cfg.PositiveRefresh, v.cfg.NegativeRefresh)
}

// byStatus picks a setting for a verdict's status: deliverable,
// undeliverable, or else the undetermined verdicts' TempTTL.
func (v *Verifier) byStatus(s Status, deliverable, undeliverable time.Duration) time.Duration {
	switch s {
	case Deliverable:
		return deliverable
	case Undeliverable:
		return undeliverable
	}
	return v.cfg.TempTTL
}

// key is the cache key of addr: the local part as given (it may be case
// sensitive), the domain folded.
func (v *Verifier) key(a smtpcheck.Address) string {
	return v.prefix + a.Local + "@" + a.DomainFold()
}

// encode writes a verdict as one line of tab-separated fields: status,
// code, time, step, host, said, address.
func encode(v Verdict) []byte {
	b := make([]byte, 0, 48+len(v.Host)+len(v.Said)+len(v.Address))
	b = strconv.AppendUint(b, uint64(v.Status), 10)
	b = append(b, '\t')
	b = strconv.AppendUint(b, uint64(v.Code), 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, v.Checked.UnixNano(), 10)
	b = append(b, '\t')
	b = append(b, v.Step...)
	b = append(b, '\t')
	b = append(b, strings.ReplaceAll(v.Host, "\t", " ")...)
	b = append(b, '\t')
	b = append(b, strings.ReplaceAll(v.Said, "\t", " ")...)
	b = append(b, '\t')
	b = append(b, v.Address...)
	return b
}

// decode reads what encode wrote; a record it cannot read is no record.
// The verdict's strings share b's memory, which the caller must not change
// afterwards: a Store's Get hands out a copy of its own (a cached verdict
// is read on every message, so the copy is not made twice).
func decode(b []byte) (Verdict, bool) {
	if len(b) == 0 {
		return Verdict{}, false
	}
	s := unsafe.String(&b[0], len(b))
	var f [7]string
	for i := 0; i < 6; i++ {
		j := strings.IndexByte(s, '\t')
		if j < 0 {
			return Verdict{}, false
		}
		f[i], s = s[:j], s[j+1:]
	}
	f[6] = s
	st, err := strconv.ParseUint(f[0], 10, 8)
	if err != nil || st > uint64(Undeliverable) {
		return Verdict{}, false
	}
	code, err := strconv.ParseUint(f[1], 10, 16)
	if err != nil || code > 599 {
		return Verdict{}, false
	}
	ns, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return Verdict{}, false
	}
	return Verdict{Status: Status(st), Code: int(code), Checked: time.Unix(0, ns), Step: f[3], Host: f[4], Said: f[5], Address: f[6]}, true
}

// probeAddress finds the servers for addr and asks them.
func (v *Verifier) probeAddress(ctx context.Context, addr smtpcheck.Address) Verdict {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	domain := addr.DomainFold()
	out := Verdict{Address: addr.Local + "@" + domain, Host: domain}
	if !plainAddress(addr) {
		out.Status, out.Step, out.Said = Undeliverable, StepAddress, "malformed address"
		return out
	}
	hosts, fail := v.hosts(ctx, domain)
	if fail != nil {
		fail.Address = out.Address
		return *fail
	}
	p := v.probe
	p.rcpt = out.Address
	last := Verdict{Address: out.Address, Status: Undetermined, Step: StepConnect, Host: domain, Said: "no answer from any MX host"}
	for _, h := range hosts {
		if ctx.Err() != nil {
			last.Said += "; probe deadline reached"
			break
		}
		d := p.talk(ctx, h.addr)
		vd := Verdict{Address: out.Address, Step: d.step, Host: h.String()}
		switch {
		case d.err != nil:
			vd.Status, vd.Said = Undetermined, describe(d.err)
			last = vd
			continue // the host failed; another may answer
		case d.step == StepGreeting || d.step == StepHelo:
			// A host refusing to talk is skipped, as Postfix's
			// smtp_skip_5xx_greeting does; it says nothing about the address.
			vd.Status, vd.Said, vd.Code = Undetermined, clipSaid(d.reply.String()), d.reply.Code
			last = vd
			continue
		}
		vd.Said, vd.Code = clipSaid(d.reply.String()), d.reply.Code
		switch d.reply.Code / 100 {
		case 2:
			if d.step == StepRcpt {
				vd.Status = Deliverable
			}
		case 5:
			vd.Status = Undeliverable
			if d.step == StepMail && p.sender != "" {
				// A refused probe sender says nothing about the address:
				// only the null sender must be taken by every server.
				vd.Status = Undetermined
			}
		default:
			vd.Status = Undetermined
		}
		return vd
	}
	return last
}

// maxSaid bounds a server's reply kept in a verdict (and its cache record):
// enough for any real refusal text.
const maxSaid = 512

func clipSaid(s string) string {
	if len(s) > maxSaid {
		return s[:maxSaid]
	}
	return s
}

// maxMX bounds the MX hosts looked up: a domain listing hundreds must not
// turn one verification into hundreds of DNS queries.
const maxMX = 10

// plainAddress reports an address a probe may quote in RCPT TO: a local
// part and a domain without controls or angle brackets, and without blanks
// except inside a quoted local part ("john doe"@example.org is valid).
func plainAddress(a smtpcheck.Address) bool {
	if a.Local == "" || a.Domain == "" || len(a.Local)+len(a.Domain) > 254 {
		return false
	}
	quoted := len(a.Local) >= 2 && a.Local[0] == '"' && a.Local[len(a.Local)-1] == '"'
	for i, s := range []string{a.Local, a.Domain} {
		for j := 0; j < len(s); j++ {
			c := s[j]
			if c < ' ' || c == 0x7f || c == '<' || c == '>' || (c == ' ' && !(i == 0 && quoted)) {
				return false
			}
		}
	}
	return true
}

// describe turns a failed conversation into a short text.
func describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, errReply):
		return err.Error()
	case errors.Is(err, net.ErrClosed), strings.Contains(err.Error(), "EOF"), strings.Contains(err.Error(), "reset by peer"):
		return "connection closed"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	}
	return err.Error()
}

// target is one address to probe.
type target struct {
	name string
	addr netip.AddrPort
}

func (t target) String() string {
	return t.name + "[" + t.addr.Addr().String() + "]:" + strconv.Itoa(int(t.addr.Port()))
}

// hosts returns the addresses to probe, in MX preference order, pruned and
// at most MaxHosts; or the verdict when DNS alone decides.
func (v *Verifier) hosts(ctx context.Context, domain string) ([]target, *Verdict) {
	if v.cfg.Host != "" {
		return v.fixedHost(ctx)
	}
	fail := func(st Status, step, said string) *Verdict {
		return &Verdict{Status: st, Step: step, Host: domain, Said: said}
	}
	mxs, err := v.cfg.Resolver.LookupMX(ctx, domain)
	switch {
	case errors.Is(err, resolver.ErrNXDomain):
		return nil, fail(Undeliverable, StepMX, "domain does not exist (NXDOMAIN)")
	case resolver.IsNotFound(err):
		// No MX: the domain itself is the implicit MX (RFC 5321 5.1).
		mxs = []resolver.MX{{Host: domain}}
	case err != nil:
		return nil, fail(Undetermined, StepMX, "MX lookup failed: "+lookupError(err))
	}
	if len(mxs) == 1 && mxs[0].Host == "." {
		return nil, fail(Undeliverable, StepMX, "null MX: the domain accepts no mail (RFC 7505)")
	}
	var out []target
	var tempErr error
	pruned := 0
	for i, mx := range mxs {
		if len(out) >= v.cfg.MaxHosts || i == maxMX {
			break
		}
		if ctx.Err() != nil {
			tempErr = ctx.Err()
			break
		}
		addrs, err := v.cfg.Resolver.LookupIP(ctx, mx.Host)
		if err != nil {
			if !resolver.IsNotFound(err) {
				tempErr = err
			}
			pruned++
			continue
		}
		for _, a := range addrs {
			if !v.cfg.Usable(a) {
				pruned++
				continue
			}
			if len(out) < v.cfg.MaxHosts {
				out = append(out, target{name: mx.Host, addr: netip.AddrPortFrom(a.Unmap(), uint16(v.cfg.Port))})
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if tempErr != nil {
		return nil, fail(Undetermined, StepHost, "MX host lookup failed: "+lookupError(tempErr))
	}
	return nil, fail(Undeliverable, StepHost, "no acceptable MX host: "+strconv.Itoa(pruned)+" pruned (no address, loopback or not reachable from the Internet)")
}

// fixedHost resolves Config.Host, the downstream server of a call-ahead.
func (v *Verifier) fixedHost(ctx context.Context) ([]target, *Verdict) {
	host, port := v.cfg.Host, strconv.Itoa(v.cfg.Port)
	if h, p, err := net.SplitHostPort(v.cfg.Host); err == nil {
		host, port = h, p
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, &Verdict{Status: Undetermined, Step: StepHost, Host: v.cfg.Host, Said: "bad port " + port}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []target{{name: host, addr: netip.AddrPortFrom(a, uint16(pn))}}, nil
	}
	if v.cfg.Resolver == nil {
		return nil, &Verdict{Status: Undetermined, Step: StepHost, Host: host, Said: "no resolver for the host name"}
	}
	addrs, err := v.cfg.Resolver.LookupIP(ctx, host)
	if err != nil {
		// The downstream server is ours: a lookup failure is never the
		// address's fault.
		return nil, &Verdict{Status: Undetermined, Step: StepHost, Host: host, Said: "host lookup failed: " + lookupError(err)}
	}
	var out []target
	for _, a := range addrs {
		if len(out) < v.cfg.MaxHosts {
			out = append(out, target{name: host, addr: netip.AddrPortFrom(a.Unmap(), uint16(pn))})
		}
	}
	return out, nil
}

// lookupError names a DNS failure briefly: the resolver's sentinel.
func lookupError(err error) string {
	var re *resolver.Error
	if errors.As(err, &re) {
		return re.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return err.Error()
}
