package postconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
)

// anvilParams are the parameters of the client limits, in the order a
// front-end names them.
var anvilParams = []string{
	"smtpd_client_connection_count_limit", "smtpd_client_connection_rate_limit",
	"smtpd_client_message_rate_limit", "smtpd_client_recipient_rate_limit",
	"smtpd_client_event_limit_exceptions", "anvil_rate_time_unit",
}

// anvil builds the client limits when the front-end keeps their counts
// (Env.AnvilStore) and puts their check first at connect, MAIL (after
// smtpd_helo_required, as in Postfix's mail_cmd) and RCPT: Postfix counts
// and answers them before any restriction list, postmaster included.
// Without a store the parameters are still read and checked, and left to
// the MTA in front (a policy service or milter behind Postfix, whose own
// anvil enforces them).
func (b *builder) anvil(cfg *Config) error {
	ac := access.AnvilConfig{Store: b.env.AnvilStore, Service: b.env.AnvilService, Logger: b.log}
	limits := []*int64{&ac.ConnectionCountLimit, &ac.ConnectionRateLimit, &ac.MessageRateLimit, &ac.RecipientRateLimit}
	for i, p := range limits {
		n, err := b.intParam(anvilParams[i])
		if err != nil {
			return err
		}
		if n < 0 {
			return b.errorAt(anvilParams[i], fmt.Sprintf("expected 0 (no limit) or more, got %d", n))
		}
		*p = int64(n)
	}
	v, err := b.value("anvil_rate_time_unit")
	if err != nil {
		return err
	}
	if ac.TimeUnit, err = parseTime(v, 's'); err != nil || ac.TimeUnit <= 0 {
		return b.errorAt("anvil_rate_time_unit", fmt.Sprintf("expected a time such as 60s or 1m, got %q", v))
	}
	if ac.Exempt, err = b.clientList("smtpd_client_event_limit_exceptions"); err != nil {
		return err
	}
	if ac.Hostname, err = b.value("myhostname"); err != nil {
		return err
	}
	if _, set := b.f.Raw("myhostname"); !set && b.env.Hostname != "" {
		ac.Hostname = b.env.Hostname
	}
	if ac.Store == nil {
		return nil
	}
	a, err := access.NewAnvil(ac)
	if err != nil {
		return err
	}
	cfg.Anvil = a
	p, check := cfg.Policy, a.Check()
	p.Connect = sequence(check, p.Connect)
	if cfg.HeloRequired {
		p.Mail = sequence(hygiene.HeloRequired(), check, p.Mail)
	} else {
		p.Mail = sequence(check, p.Mail)
	}
	p.Rcpt = sequence(check, p.Rcpt)
	return nil
}

// parseTime reads a Postfix time value: a number with an optional unit
// (s, m, h, d, w); a bare number is in unit def.
func parseTime(v string, def byte) (time.Duration, error) {
	v = strings.TrimSpace(v)
	unit := def
	if n := len(v); n > 0 && (v[n-1] < '0' || v[n-1] > '9') {
		unit, v = v[n-1]|0x20, v[:n-1]
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, err
	}
	mult := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown time unit %q", unit)
	}
	return time.Duration(n) * mult, nil
}

// clientList reads a list of clients as Postfix's namadr_list does:
// addresses and networks, host names (".domain" for its subdomains), each
// negated by "!", the first match deciding. Tables and files are refused
// at load: a list that silently matched nothing would limit clients the
// admin exempted.
func (b *builder) clientList(name string) (func(*smtpcheck.Session) bool, error) {
	v, err := b.value(name)
	if err != nil {
		return nil, err
	}
	type pattern struct {
		neg  bool
		net  netip.Prefix
		host string
	}
	var pats []pattern
	for _, f := range Fields(v) {
		p := pattern{}
		if rest, ok := strings.CutPrefix(f, "!"); ok {
			p.neg, f = true, rest
		}
		if n, err := parseNetwork(f); err == nil {
			p.net = n
		} else if strings.ContainsAny(f, ":/[]") {
			return nil, b.errorAt(name, fmt.Sprintf("%q: only addresses, networks and host names are supported here", f))
		} else {
			p.host = strings.TrimSuffix(strings.ToLower(f), ".")
		}
		pats = append(pats, p)
	}
	if len(pats) == 0 {
		return nil, nil
	}
	return func(s *smtpcheck.Session) bool {
		ip := s.Conn.ClientIP.Unmap()
		host := strings.ToLower(s.Conn.Name())
		for _, p := range pats {
			var hit bool
			if p.net.IsValid() {
				hit = p.net.Contains(ip)
			} else if strings.HasPrefix(p.host, ".") {
				hit = strings.HasSuffix(host, p.host)
			} else {
				hit = host == p.host
			}
			if hit {
				return !p.neg
			}
		}
		return false
	}, nil
}
