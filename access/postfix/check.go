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
	// RejectCode is access_map_reject_code, the reply code of REJECT
	// (0: Postfix's 554).
	RejectCode int
	// DeferCode is access_map_defer_code, the reply code of DEFER,
	// DEFER_IF_PERMIT and DEFER_IF_REJECT (0: Postfix's 450).
	DeferCode int
	// Origin completes a sender or recipient without a domain before it
	// is looked up, as Postfix's trivial-rewrite does with $myorigin
	// (append_at_myorigin): with Origin "mx.example.org", <alice> is
	// looked up as alice@mx.example.org, mx.example.org, ..., alice@. The
	// reply still names the address as the client gave it. "" looks the
	// bare address up as it is.
	Origin string
}

// qualify is the address as the tables see it: completed with Origin
// when it has no domain.
func (o Options) qualify(a smtpcheck.Address) smtpcheck.Address {
	if a.Domain == "" && !a.IsNull() && o.Origin != "" {
		a.Domain = o.Origin
	}
	return a
}

func (o Options) rejectCode() int {
	if o.RejectCode == 0 {
		return 554
	}
	return o.RejectCode
}

func (o Options) deferCode() int {
	if o.DeferCode == 0 {
		return 450
	}
	return o.DeferCode
}

// DefaultOptions are Postfix's classic defaults.
var DefaultOptions = Options{ParentDomainMatchesSubdomains: true, RecipientDelimiter: "+", NullAccessLookupKey: "<>"}

// Kind is what a restriction refuses: the client, the HELO name, the
// sender or the recipient. It names the subject in Postfix's replies.
type Kind uint8

const (
	kindClient Kind = iota
	kindHelo
	kindSender
	kindRecipient
	kindData
	kindEndOfData
	kindReverseClient
)

var kindText = [...]string{"Client host rejected", "Helo command rejected", "Sender address rejected", "Recipient address rejected", "Data command rejected", "End-of-data rejected", "Unverified Client host rejected"}
var kindClass = [...]string{"Client host", "Helo command", "Sender address", "Recipient address", "Data command", "End-of-data", "Unverified Client host"}

// String returns Postfix's name for the kind, such as "Sender address".
func (k Kind) String() string {
	if int(k) < len(kindClass) {
		return kindClass[k]
	}
	return kindClass[0]
}

var kindCheck = [...]string{"check_client_access", "check_helo_access", "check_sender_access", "check_recipient_access", "", "", "check_reverse_client_hostname_access"}
var kindDenied = [...]string{"ClientAccessDenied", "HeloAccessDenied", "SenderAccessDenied", "RecipientAccessDenied", "", "", ""}
var kindRejected = [...]string{"ClientRejected", "HeloRejected", "SenderRejected", "RecipientRejected", "", "", ""}

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
		return run(s, t, o, kindClient, name+"["+s.Conn.ClientIP.String()+"]", queries)
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
		return run(s, t, o, kindHelo, s.Helo.Name, queries)
	}
}

// CheckSenderAccess is check_sender_access on the MAIL FROM address (the
// null sender is looked up as "<>").
func CheckSenderAccess(t Table, o Options) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Mail == nil {
			return smtpcheck.Result{}
		}
		return run(s, t, o, kindSender, s.Mail.From.String(), addressQueries(t, o.qualify(s.Mail.From), o))
	}
}

// CheckRecipientAccess is check_recipient_access on the current RCPT TO.
func CheckRecipientAccess(t Table, o Options) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt {
			return smtpcheck.Result{}
		}
		return run(s, t, o, kindRecipient, s.Rcpt.String(), addressQueries(t, o.qualify(s.Rcpt), o))
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

func run(s *smtpcheck.Session, t Table, o Options, k Kind, subject string, queries []string) smtpcheck.Result {
	for _, q := range queries {
		if a, ok := t.Find(q); ok {
			if a.Delegated() || a.Verb == Warn {
				passOn(s, a)
			}
			return result(t, o, k, subject, q, a)
		}
	}
	return smtpcheck.Result{}
}

// passOnKey keys, in a session's values, the actions its lookups found
// that the MTA carries out (see PassedOn).
type passOnKey struct{}

// maxPassedOn bounds the actions kept for one session.
const maxPassedOn = 8

func passOn(s *smtpcheck.Session, a TableAction) {
	l, _ := s.Value(passOnKey{}).([]TableAction)
	if len(l) < maxPassedOn {
		s.SetValue(passOnKey{}, append(l, a))
	}
}

// PassedOn returns the actions the session's table lookups found that only
// the MTA carries out (FILTER, REDIRECT, BCC, restriction names or
// classes) and WARN, in the order found. A Postfix policy service answers
// them to Postfix; the checks themselves let the request go on.
func PassedOn(s *smtpcheck.Session) []TableAction {
	l, _ := s.Value(passOnKey{}).([]TableAction)
	return l
}

// Withdraw takes back the restriction names words from the actions passed
// on for s: the caller evaluated them itself, as Postfix would in place,
// and the MTA must not evaluate them a second time.
func Withdraw(s *smtpcheck.Session, words string) {
	l, _ := s.Value(passOnKey{}).([]TableAction)
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].Verb == Restrictions && l[i].Text == words {
			s.SetValue(passOnKey{}, append(l[:i:i], l[i+1:]...))
			return
		}
	}
}

// result carries out one table entry as Postfix's check_table_result does:
// REJECT takes access_map_reject_code, the DEFER verbs access_map_defer_code,
// "4NN text"/"5NN text" their own code; the enhanced code is the entry's or
// the verb's default, fitted to what is refused and to the reply's class.
func result(t Table, o Options, k Kind, subject, key string, a TableAction) smtpcheck.Result {
	reason := smtpcheck.Reason{Check: kindCheck[k], Rule: t.Name() + " " + key, Matched: subject, Evidence: a.Verb.String()}
	if a.Text != "" {
		reason.Evidence += " " + a.Text
	}
	switch a.Verb {
	case OK:
		return smtpcheck.Permit(reason)
	case Dunno, Warn, Info, Filter, Redirect, Bcc, Restrictions:
		// WARN and INFO only log (through the trace and the list layer);
		// the MTA carries out the others (see PassedOn).
		return smtpcheck.Pass(reason)
	case DeferIfReject:
		// The reply is kept for the restriction-list layer, which gives it
		// in place of a later rejection in the same list.
		r := smtpcheck.Pass(reason)
		r.Reply = ReplyFor(k, subject, o.deferCode(), "4.7.1", a.Enhanced, a.Text, "Service unavailable")
		return r
	case Discard:
		return smtpcheck.Result{Action: smtpcheck.Discard, Reason: reason}
	case Hold:
		return smtpcheck.Result{Action: smtpcheck.Quarantine, Reason: reason}
	case Prepend:
		name, value, _ := strings.Cut(a.Text, ":")
		return smtpcheck.Result{Headers: []smtpcheck.HeaderField{{Name: name, Value: strings.TrimSpace(value)}}, Reason: reason}
	case Reject:
		return Refuse(ReplyFor(k, subject, o.rejectCode(), "5.7.1", a.Enhanced, a.Text, "Access denied"), reason)
	case Defer:
		return Refuse(ReplyFor(k, subject, o.deferCode(), "4.7.1", a.Enhanced, a.Text, "Access denied"), reason)
	case DeferIfPermit:
		r := smtpcheck.Refuse(ReplyFor(k, subject, o.deferCode(), "4.7.1", a.Enhanced, a.Text, "Service unavailable"), reason)
		r.Action = smtpcheck.DeferIfPermit
		return r
	case Code:
		return Refuse(ReplyFor(k, subject, a.Code, string(rune('0'+a.Code/100))+".7.1", a.Enhanced, a.Text, "Access denied"), reason)
	}
	return smtpcheck.Result{}
}

// Refuse is smtpcheck.Refuse with Postfix's reading of the code: a 421 or
// 521 reply ends the session (smtpd hangs up after sending it).
func Refuse(rep reply.Reply, reason smtpcheck.Reason) smtpcheck.Result {
	r := smtpcheck.Refuse(rep, reason)
	if c := rep.Code(); c == 421 || c == 521 {
		r.Action = smtpcheck.Disconnect
	}
	return r
}

// The kinds of subject.
const (
	Client    = kindClient
	Helo      = kindHelo
	Sender    = kindSender
	Recipient = kindRecipient
	// Data and EndOfData name the DATA command and the end of the
	// message: "<DATA>: Data command rejected: ...".
	Data      = kindData
	EndOfData = kindEndOfData
	// ReverseClient names the client by its PTR name, verified or not:
	// "<name>: Unverified Client host rejected: ..."
	// (check_reverse_client_hostname_access).
	ReverseClient = kindReverseClient
)

// Lookup looks queries up in t, in order, and carries out the first entry
// found as the check_*_access restrictions do, its replies naming subject
// as a refusal of kind k. DomainQueries and IPQueries give access(5)'s
// sequences for a fixed-string table; a pattern table is asked the whole
// string only.
func Lookup(s *smtpcheck.Session, t Table, o Options, k Kind, subject string, queries []string) smtpcheck.Result {
	return run(s, t, o, k, subject, queries)
}

// DomainQueries returns access(5)'s sequence for a host or domain name in
// a fixed-string table: the name, then its parent domains ("example.com",
// "com" when o.ParentDomainMatchesSubdomains, ".example.com", ".com"
// otherwise).
func DomainQueries(d string, o Options) []string {
	return domainQueries(nil, strings.ToLower(strings.TrimSuffix(d, ".")), o)
}

// ReplyFor builds Postfix's "<subject>: Client host rejected: text" reply
// for a refusal of kind k, as smtpd's access tables, policy services and
// restrictions word it. enh is the entry's enhanced code ("" for none, when
// defEnh applies); an address-specific X.1.Y code is fitted to what is
// refused (smtpd_dsn_fix: a recipient code while refusing a sender becomes
// the matching sender code, and so on), and the enhanced class follows
// code, as Postfix sends it. text "" is defText.
func ReplyFor(k Kind, subject string, code int, defEnh, enh, text, defText string) reply.Reply {
	if code < 400 || code > 599 {
		// smtpd_check_reject's answer to a reply code it cannot send.
		return reply.MustNew(450, "4.7.1", "Service unavailable")
	}
	if enh == "" {
		enh = defEnh
	}
	if len(enh) < 2 {
		enh = "x.7.1"
	}
	enh = fixDSN(enh, k)
	enh = string(rune('0'+code/100)) + enh[1:]
	if text == "" {
		text = defText
	}
	if int(k) >= len(kindText) {
		k = kindClient
	}
	denied := text == "Access denied"
	name := kindRejected[k]
	if denied {
		name = kindDenied[k]
	}
	if e := reply.Lookup(name); name != "" && e != nil {
		var r reply.Reply
		if denied {
			r = e.Reply(subject)
		} else {
			r = e.Reply(subject, text)
		}
		if e := r.Enhanced().String(); len(e) > 1 && e[1:] == enh[1:] {
			if r2, err := r.WithCode(code); err == nil {
				return r2
			}
		}
	}
	r, err := reply.New(code, enh, "<"+subject+">: "+kindText[k]+": "+text)
	if err != nil {
		return reply.MustNew(450, "4.7.1", "Service unavailable")
	}
	return r
}

// fixDSN is smtpd_dsn_fix: an address-specific status (X.1.Y) is mapped to
// the one that fits what is refused; other statuses are left alone.
func fixDSN(enh string, k Kind) string {
	if len(enh) < 5 || enh[1:4] != ".1." {
		return enh
	}
	// Postfix's table, by the detail Y of X.1.Y: the status a refused
	// sender gets and the one a refused recipient gets. Any other detail
	// gets 4.1.0 for both.
	fixes := [...]struct{ sender, rcpt string }{
		1: {"4.1.7", "4.1.1"}, 2: {"4.1.8", "4.1.2"}, 3: {"4.1.7", "4.1.3"}, 4: {"4.1.7", "4.1.4"},
		5: {"4.1.0", "4.1.5"}, 6: {"4.1.7", "4.1.6"}, 7: {"4.1.7", "4.1.3"}, 8: {"4.1.8", "4.1.2"},
	}
	sender, rcpt := "4.1.0", "4.1.0"
	if d := enh[4:]; len(d) == 1 && '1' <= d[0] && d[0] <= '8' {
		f := fixes[d[0]-'0']
		sender, rcpt = f.sender, f.rcpt
	}
	switch k {
	case kindSender:
		return sender
	case kindRecipient:
		return rcpt
	}
	return "4.0.0"
}
