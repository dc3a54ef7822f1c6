package postconf

import (
	"context"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// serverType is the DNS record a check_*_{mx,ns,a}_access restriction
// follows from a name to the hosts whose names and addresses it looks up.
type serverType uint8

const (
	serverMX serverType = iota
	serverNS
	serverA
)

// maxServerAddrs is Postfix's dns_rr_list_limit: the addresses of one
// check looked at, at most.
const maxServerAddrs = 100

// serverSubject returns what a check_*_{mx,ns,a}_access restriction looks
// at: the name, the reply's subject and kind; name "" when there is nothing
// to look at.
type serverSubject func(ctx context.Context, s *smtpcheck.Session) (name, subject string, k postfix.Kind)

// serverAccess is check_{client,helo,sender,recipient}_{mx,ns,a}_access as
// Postfix's check_server_access has them: the domain's MX hosts (the domain
// itself when it has no MX, nothing for a null MX), its NS hosts (those of
// the nearest parent that has some) or, for _a_, the domain itself; each
// host's name (and parent domains) is looked up in the table, then each of
// its addresses, the first entry found answers. An address literal is its
// own MX and A host. A lookup that fails skips that step, as in Postfix:
// these checks never defer. OK is refused as Postfix refuses it, with 451
// 4.3.5 "Server configuration error": a host an attacker controls must not
// be able to permit mail.
func (b *builder) serverAccess(rule string, t postfix.Table, typ serverType, subject serverSubject) smtpcheck.Check {
	res := b.env.Resolver
	o := b.access
	families := b.inetFamilies()
	addrQueries := func(ip netip.Addr) []string {
		if t.Fixed() {
			return postfix.IPQueries(ip)
		}
		return []string{ip.Unmap().String()}
	}
	nameQueries := func(n string) []string {
		if t.Fixed() {
			return postfix.DomainQueries(n, o)
		}
		return []string{strings.ToLower(strings.TrimSuffix(n, "."))}
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		name, subj, k := subject(ctx, s)
		if name == "" {
			return smtpcheck.Result{}
		}
		domain := name
		if i := strings.LastIndexByte(name, '@'); i >= 0 {
			domain = name[i+1:]
		}
		if domain == "" {
			return smtpcheck.Result{}
		}
		found := func(r smtpcheck.Result) bool {
			return r.Action != smtpcheck.Continue || r.Reason.Rule != ""
		}
		forbidOK := func(r smtpcheck.Result) smtpcheck.Result {
			if r.Action == smtpcheck.Accept {
				b.log.WarnContext(ctx, "restriction returns OK, which is not allowed for security reasons; use DUNNO to make an exception",
					"restriction", rule, "for", name)
				return smtpcheck.Refuse(reply.MustNew(451, "4.3.5", "Server configuration error"),
					smtpcheck.Reason{Rule: rule, Matched: name, Evidence: "OK is not allowed here"})
			}
			return r
		}
		if domain[0] == '[' {
			if typ == serverNS || domain[len(domain)-1] != ']' {
				return smtpcheck.Result{}
			}
			lit := strings.TrimPrefix(domain[1:len(domain)-1], "IPv6:")
			ip, err := netip.ParseAddr(lit)
			if err != nil {
				return smtpcheck.Result{}
			}
			return forbidOK(postfix.Lookup(s, t, o, k, subj, addrQueries(ip)))
		}
		domain = strings.ToLower(strings.TrimSuffix(domain, "."))
		var hosts []string
		switch typ {
		case serverA:
			hosts = []string{domain}
		case serverMX:
			mx, err := res.LookupMX(ctx, domain)
			switch {
			case err == nil && len(mx) == 1 && (mx[0].Host == "." || mx[0].Host == ""):
				return smtpcheck.Result{}
			case err == nil:
				for _, m := range mx {
					hosts = append(hosts, m.Host)
				}
			case resolver.IsNotFound(err):
				hosts = []string{domain}
			default:
				b.log.WarnContext(ctx, "unable to look up MX host", "for", domain, "err", err)
				return smtpcheck.Result{}
			}
		case serverNS:
			d := domain
			for {
				ns, err := res.LookupNS(ctx, d)
				if err == nil {
					hosts = ns
					break
				}
				i := strings.IndexByte(d, '.')
				if !resolver.IsNotFound(err) || i < 0 || i == len(d)-1 {
					b.log.WarnContext(ctx, "unable to look up NS host", "for", domain, "err", err)
					return smtpcheck.Result{}
				}
				d = d[i+1:]
			}
		}
		count := 0
		for _, h := range hosts {
			if ip, err := netip.ParseAddr(h); err == nil {
				if r := postfix.Lookup(s, t, o, k, subj, addrQueries(ip)); found(r) {
					return forbidOK(r)
				}
				continue
			}
			if typ != serverA {
				if r := postfix.Lookup(s, t, o, k, subj, nameQueries(h)); found(r) {
					return forbidOK(r)
				}
			}
			ips, err := res.LookupIP(ctx, h)
			if err != nil {
				continue
			}
			for _, ip := range ips {
				ip = ip.Unmap()
				if (ip.Is4() && !families.v4) || (ip.Is6() && !families.v6) {
					continue
				}
				if count++; count > maxServerAddrs {
					b.log.WarnContext(ctx, "server address count limit exceeded; ignoring the remainder", "restriction", rule, "for", name)
					return smtpcheck.Result{}
				}
				if r := postfix.Lookup(s, t, o, k, subj, addrQueries(ip)); found(r) {
					return forbidOK(r)
				}
			}
		}
		return smtpcheck.Result{}
	}
}

// inetFamilies are the address families of inet_protocols, which Postfix's
// host address lookups keep to.
type inetFamilies struct{ v4, v6 bool }

func (b *builder) inetFamilies() inetFamilies {
	v, _, _ := b.f.Expand("inet_protocols", map[string]string{"inet_protocols": "all"})
	var f inetFamilies
	for _, w := range Fields(strings.ToLower(v)) {
		switch w {
		case "all":
			f.v4, f.v6 = true, true
		case "ipv4":
			f.v4 = true
		case "ipv6":
			f.v6 = true
		}
	}
	if !f.v4 && !f.v6 {
		f.v4, f.v6 = true, true
	}
	return f
}

// serverSubjectFor returns the subject of a check_*_{mx,ns,a}_access
// restriction named for what it looks at.
func (b *builder) serverSubjectFor(what string) serverSubject {
	res := b.env.Resolver
	switch what {
	case "client":
		// The client's verified name; nothing when it has none.
		return func(ctx context.Context, s *smtpcheck.Session) (string, string, postfix.Kind) {
			name := verifiedName(ctx, res, s)
			if name == "" {
				return "", "", postfix.Client
			}
			return name, name + "[" + s.Conn.ClientIP.String() + "]", postfix.Client
		}
	case "helo":
		return func(ctx context.Context, s *smtpcheck.Session) (string, string, postfix.Kind) {
			return s.Helo.Name, s.Helo.Name, postfix.Helo
		}
	case "sender":
		return func(ctx context.Context, s *smtpcheck.Session) (string, string, postfix.Kind) {
			if s.Mail == nil || s.Mail.From.IsNull() {
				return "", "", postfix.Sender
			}
			a := s.Mail.From.String()
			return a, a, postfix.Sender
		}
	}
	return func(ctx context.Context, s *smtpcheck.Session) (string, string, postfix.Kind) {
		if s.Stage != smtpcheck.StageRcpt || s.Rcpt.IsNull() {
			return "", "", postfix.Recipient
		}
		a := s.Rcpt.String()
		return a, a, postfix.Recipient
	}
}

// verifiedName is the client's forward-confirmed name from the session's
// facts, or looked up when the session has none; "" when it has none.
func verifiedName(ctx context.Context, res *resolver.Resolver, s *smtpcheck.Session) string {
	if s.Conn.PTRLooked || res == nil || !s.Conn.ClientIP.IsValid() {
		if len(s.Conn.Confirmed) > 0 {
			return s.Conn.Confirmed[0]
		}
		return ""
	}
	_, confirmed, err := res.VerifyPTR(ctx, s.Conn.ClientIP)
	if err != nil || len(confirmed) == 0 {
		return ""
	}
	return confirmed[0]
}

// reverseClientAccess is check_reverse_client_hostname_access: the
// client's PTR name, verified or not, and its parent domains, then its
// address, as check_client_access looks them up, replies naming the PTR
// name as "Unverified Client host". OK is refused as for the MX/NS/A
// checks.
func (b *builder) reverseClientAccess(t postfix.Table) smtpcheck.Check {
	res := b.env.Resolver
	o := b.access
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		name := "unknown"
		switch {
		case s.Conn.PTRLooked:
			if len(s.Conn.PTR) > 0 {
				name = s.Conn.PTR[0]
			}
		case s.Conn.ClientIP.IsValid():
			if names, err := res.LookupPTR(ctx, s.Conn.ClientIP); err == nil && len(names) > 0 {
				name = names[0]
			}
		}
		var queries []string
		if t.Fixed() {
			if name != "unknown" {
				queries = postfix.DomainQueries(name, o)
			}
			queries = append(queries, postfix.IPQueries(s.Conn.ClientIP)...)
		} else {
			if name != "unknown" {
				queries = append(queries, strings.ToLower(name))
			}
			queries = append(queries, s.Conn.ClientIP.Unmap().String())
		}
		r := postfix.Lookup(s, t, o, postfix.ReverseClient, name, queries)
		if r.Action == smtpcheck.Accept {
			b.log.WarnContext(ctx, "restriction returns OK, which is not allowed for security reasons; use DUNNO to make an exception",
				"restriction", "check_reverse_client_hostname_access", "for", name)
			return smtpcheck.Refuse(reply.MustNew(451, "4.3.5", "Server configuration error"),
				smtpcheck.Reason{Rule: "check_reverse_client_hostname_access", Matched: name, Evidence: "OK is not allowed here"})
		}
		return r
	}
}
