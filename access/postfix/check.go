package postfix

import (
	"context"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Options are the main.cf settings the access checks follow.
type Options struct {
	// ParentDomainMatchesSubdomains is true when smtpd_access_maps is in
	// parent_domain_matches_subdomains (Postfix's default before
	// compatibility level 3): "example.com" then matches sub.example.com.
	// When false, subdomains match only ".example.com" keys.
	ParentDomainMatchesSubdomains bool
	// RecipientDelimiter splits address extensions (user+ext); "" turns
	// extension lookups off. Postfix's usual setting is "+".
	RecipientDelimiter string
	// NullAccessLookupKey is the key for the null sender; "" means "<>".
	NullAccessLookupKey string
}

// DefaultOptions are Postfix's classic defaults.
var DefaultOptions = Options{ParentDomainMatchesSubdomains: true, RecipientDelimiter: "+", NullAccessLookupKey: "<>"}

// subject kinds, for replies.
type kind uint8

const (
	kindClient kind = iota
	kindHelo
	kindSender
	kindRecipient
)

var kindText = [...]string{"Client host rejected", "Helo command rejected", "Sender address rejected", "Recipient address rejected"}
var kindCheck = [...]string{"check_client_access", "check_helo_access", "check_sender_access", "check_recipient_access"}
var kindDenied = [...]string{"ClientAccessDenied", "HeloAccessDenied", "SenderAccessDenied", "RecipientAccessDenied"}
var kindRejected = [...]string{"ClientRejected", "HeloRejected", "SenderRejected", "RecipientRejected"}

// CheckClientAccess is check_client_access: the client's verified host name
// (with its parent domains) and then its address (IPv4 octets or IPv6
// groups dropped from the right) are looked up in t.
func CheckClientAccess(t Table, o Options) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		name := s.Conn.Name()
		var queries []string
		if t.Fixed() {
			if name != "unknown" {
				queries = domainQueries(queries, strings.ToLower(strings.TrimSuffix(name, ".")), o)
			}
			queries = ipQueries(queries, s.Conn.ClientIP)
		} else {
			if name != "unknown" {
				queries = append(queries, strings.ToLower(name))
			}
			queries = append(queries, s.Conn.ClientIP.String())
		}
		return run(t, kindClient, name+"["+s.Conn.ClientIP.String()+"]", queries)
	}
}

// CheckHeloAccess is check_helo_access: the HELO name and its parent domains.
func CheckHeloAccess(t Table, o Options) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		h := strings.ToLower(strings.TrimSuffix(s.Helo.Name, "."))
		if h == "" {
			return smtpcheck.Result{}
		}
		var queries []string
		if t.Fixed() {
			queries = domainQueries(nil, h, o)
		} else {
			queries = []string{h}
		}
		return run(t, kindHelo, s.Helo.Name, queries)
	}
}

// CheckSenderAccess is check_sender_access on the MAIL FROM address (the
// null sender is looked up as "<>").
func CheckSenderAccess(t Table, o Options) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Mail == nil {
			return smtpcheck.Result{}
		}
		return run(t, kindSender, s.Mail.From.String(), addressQueries(t, s.Mail.From, o))
	}
}

// CheckRecipientAccess is check_recipient_access on the current RCPT TO.
func CheckRecipientAccess(t Table, o Options) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt {
			return smtpcheck.Result{}
		}
		return run(t, kindRecipient, s.Rcpt.String(), addressQueries(t, s.Rcpt, o))
	}
}

// AddressQueries returns access(5)'s lookup sequence for a mail address in
// a fixed-string table: user+ext@domain, user@domain, domain (and parents),
// user+ext@, user@; "<>" (or the configured key) for the null address.
func AddressQueries(a smtpcheck.Address, o Options) []string {
	if a.IsNull() {
		return []string{nullKey(o)}
	}
	local, domain := strings.ToLower(a.Local), strings.ToLower(strings.TrimSuffix(a.Domain, "."))
	base := local
	if o.RecipientDelimiter != "" {
		if i := strings.IndexAny(local, o.RecipientDelimiter); i > 0 {
			base = local[:i]
		}
	}
	var q []string
	if domain != "" {
		q = append(q, local+"@"+domain)
		if base != local {
			q = append(q, base+"@"+domain)
		}
		q = domainQueries(q, domain, o)
	}
	q = append(q, local+"@")
	if base != local {
		q = append(q, base+"@")
	}
	return q
}

func nullKey(o Options) string {
	if o.NullAccessLookupKey == "" {
		return "<>"
	}
	return o.NullAccessLookupKey
}

func addressQueries(t Table, a smtpcheck.Address, o Options) []string {
	if t.Fixed() {
		return AddressQueries(a, o)
	}
	if a.IsNull() {
		return []string{nullKey(o)}
	}
	return []string{a.String()}
}

// domainQueries appends a domain and its parents: "example.com", "com" when
// parent domains match subdomains, ".example.com", ".com" when they do not.
func domainQueries(q []string, d string, o Options) []string {
	q = append(q, d)
	for s := d; ; {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		if o.ParentDomainMatchesSubdomains {
			s = s[i+1:]
			q = append(q, s)
		} else {
			q = append(q, s[i:])
			s = s[i+1:]
		}
	}
	return q
}

// IPQueries returns access(5)'s sequence for a client address: the address,
// then IPv4 octets or IPv6 groups (written without leading zeros, never with
// "::") dropped from the right.
func IPQueries(ip netip.Addr) []string { return ipQueries(nil, ip) }

func ipQueries(q []string, ip netip.Addr) []string {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return q
	}
	if ip.Is4() {
		s := ip.String()
		for {
			q = append(q, s)
			i := strings.LastIndexByte(s, '.')
			if i < 0 {
				return q
			}
			s = s[:i]
		}
	}
	q = append(q, ip.String())
	b := ip.As16()
	var groups [8]string
	for i := range groups {
		groups[i] = strings.TrimLeft(hex4(b[2*i], b[2*i+1]), "0")
		if groups[i] == "" {
			groups[i] = "0"
		}
	}
	for n := 8; n >= 1; n-- {
		s := strings.Join(groups[:n], ":")
		if s != q[len(q)-1] {
			q = append(q, s)
		}
	}
	return q
}

func hex4(a, b byte) string {
	const h = "0123456789abcdef"
	return string([]byte{h[a>>4], h[a&15], h[b>>4], h[b&15]})
}

func run(t Table, k kind, subject string, queries []string) smtpcheck.Result {
	for _, q := range queries {
		if a, ok := t.Find(q); ok {
			return result(t, k, subject, q, a)
		}
	}
	return smtpcheck.Result{}
}

func result(t Table, k kind, subject, key string, a Action) smtpcheck.Result {
	reason := smtpcheck.Reason{Check: kindCheck[k], Rule: t.Name() + " " + key, Matched: subject, Evidence: a.Verb.String()}
	if a.Text != "" {
		reason.Evidence += " " + a.Text
	}
	switch a.Verb {
	case OK:
		return smtpcheck.Permit(reason)
	case Dunno, Warn, DeferIfReject:
		// WARN only logs (through the trace); DEFER_IF_REJECT needs a later
		// reject to act on, which the restriction-list layer tracks.
		return smtpcheck.Pass(reason)
	case Discard:
		return smtpcheck.Result{Action: smtpcheck.Discard, Reason: reason}
	case Hold:
		return smtpcheck.Result{Action: smtpcheck.Quarantine, Reason: reason}
	case Prepend:
		name, value, _ := strings.Cut(a.Text, ":")
		return smtpcheck.Result{Headers: []smtpcheck.HeaderField{{Name: name, Value: strings.TrimSpace(value)}}, Reason: reason}
	case Reject:
		return smtpcheck.Refuse(replyFor(k, subject, 554, a.Enhanced, a.Text), reason)
	case Defer:
		return smtpcheck.Refuse(replyFor(k, subject, 450, a.Enhanced, a.Text), reason)
	case DeferIfPermit:
		r := smtpcheck.Refuse(replyFor(k, subject, 450, a.Enhanced, a.Text), reason)
		r.Action = smtpcheck.DeferIfPermit
		return r
	case Code:
		return smtpcheck.Refuse(replyFor(k, subject, a.Code, a.Enhanced, a.Text), reason)
	}
	return smtpcheck.Result{}
}

// replyFor builds Postfix's "<subject>: Client host rejected: text" reply:
// from the catalog for the default 554 5.7.1 form, else with the table's
// own code.
func replyFor(k kind, subject string, code int, enh, text string) reply.Reply {
	if code == 554 && (enh == "" || enh == "5.7.1") {
		if text == "" {
			if e := reply.Lookup(kindDenied[k]); e != nil {
				return e.Reply(subject)
			}
		} else if e := reply.Lookup(kindRejected[k]); e != nil {
			return e.Reply(subject, text)
		}
	}
	if text == "" {
		text = "Access denied"
	}
	if enh == "" {
		enh = string(rune('0'+code/100)) + ".7.1"
	}
	r, err := reply.New(code, enh, "<"+subject+">: "+kindText[k]+": "+text)
	if err != nil { // validated at load; keep the class at least
		return reply.MustNew(code/100*100+code%100, "", "<"+subject+">: "+kindText[k]+": "+text)
	}
	return r
}
