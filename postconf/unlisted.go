package postconf

import (
	"context"
	"strings"

	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// This file is reject_unlisted_recipient and reject_unlisted_sender, with
// Postfix's address classes (trivial-rewrite's resolve.c) and recipient
// tables (smtpd_check.c's check_rcpt_maps):
//
//   - an address that any canonical map (canonical_maps,
//     recipient_canonical_maps, and sender_canonical_maps for a sender) or
//     virtual_alias_maps knows is accepted whatever its class;
//   - local class (mydestination): local_recipient_maps must know it, but
//     postmaster, MAILER-DAEMON and double_bounce_sender;
//   - virtual alias class (virtual_alias_domains): unknown, since the alias
//     maps did not know it;
//   - virtual mailbox class (virtual_mailbox_domains): virtual_mailbox_maps;
//   - relay class (relay_domains): relay_recipient_maps;
//   - any other domain is not checked.
//
// An empty table list means "do not check" for its class, as in Postfix.
// One deliberate difference: Postfix's local_recipient_maps defaults to
// "proxy:unix:passwd.byname $alias_maps", the system's users and aliases.
// This server reads neither, so a file that leaves local_recipient_maps
// unset gets no local recipient check (as Postfix with
// "local_recipient_maps ="), and a file that names unix:passwd.byname is
// refused: list the users in a table instead.

// addressMaps are the tables and settings of reject_unlisted_*.
type addressMaps struct {
	local, relay, mailbox, alias []postfix.Table
	canonical, rcptCanonical     []postfix.Table
	sendCanonical                []postfix.Table
	aliasDomains, mailboxDomains domainSet
	localCode, relayCode         int
	aliasCode, mailboxCode       int
	showTable                    bool
	doubleBounce                 string
	delimiter                    string
	rejectUnlistedRcpt           bool
	rejectUnlistedSender         bool
}

// domainSet is a list of domains as Postfix's domain lists hold them:
// names, ".parent" forms (and, with parents, each name's subdomains) and
// tables in which the domain is looked up as a key.
type domainSet struct {
	exact   map[string]bool
	parents []string
	tables  []postfix.Table
}

func (d *domainSet) add(name string, parents bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if strings.HasPrefix(name, ".") {
		d.parents = append(d.parents, name)
		return
	}
	if d.exact == nil {
		d.exact = map[string]bool{}
	}
	d.exact[name] = true
	if parents {
		d.parents = append(d.parents, "."+name)
	}
}

func (d *domainSet) empty() bool {
	return len(d.exact) == 0 && len(d.parents) == 0 && len(d.tables) == 0
}

func (d *domainSet) has(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name == "" {
		return false
	}
	if d.exact[name] {
		return true
	}
	for _, p := range d.parents {
		if strings.HasSuffix(name, p) {
			return true
		}
	}
	for _, t := range d.tables {
		if _, ok := t.Find(name); ok {
			return true
		}
	}
	return false
}

// tableList reads a parameter holding lookup tables.
func (b *builder) tableList(name string) ([]postfix.Table, error) {
	return fieldsOf(b, name, loadMap)
}

// domainList reads a parameter holding domains and tables.
func (b *builder) domainList(name string) (domainSet, error) {
	var d domainSet
	v, err := b.value(name)
	if err != nil {
		return d, err
	}
	for _, w := range Fields(v) {
		if strings.Contains(w, ":") || strings.HasPrefix(w, "/") {
			t, err := loadMap(w)
			if err != nil {
				return d, b.errorAt(name, err.Error())
			}
			d.tables = append(d.tables, t)
			continue
		}
		d.add(w, false)
	}
	return d, nil
}

// addressMaps reads the parameters of reject_unlisted_*.
func (b *builder) addressMaps() error {
	m := &b.maps
	var err error
	for _, p := range []struct {
		name string
		to   *[]postfix.Table
	}{
		{"local_recipient_maps", &m.local}, {"relay_recipient_maps", &m.relay},
		{"virtual_mailbox_maps", &m.mailbox}, {"virtual_alias_maps", &m.alias},
		{"canonical_maps", &m.canonical}, {"recipient_canonical_maps", &m.rcptCanonical},
		{"sender_canonical_maps", &m.sendCanonical},
	} {
		if *p.to, err = b.tableList(p.name); err != nil {
			return err
		}
	}
	if m.aliasDomains, err = b.domainList("virtual_alias_domains"); err != nil {
		return err
	}
	if m.mailboxDomains, err = b.domainList("virtual_mailbox_domains"); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		to   *int
	}{
		{"unknown_local_recipient_reject_code", &m.localCode}, {"unknown_relay_recipient_reject_code", &m.relayCode},
		{"unknown_virtual_alias_reject_code", &m.aliasCode}, {"unknown_virtual_mailbox_reject_code", &m.mailboxCode},
	} {
		if *p.to, err = b.code(p.name); err != nil {
			return err
		}
	}
	if m.showTable, err = b.boolParam("show_user_unknown_table_name"); err != nil {
		return err
	}
	if m.rejectUnlistedRcpt, err = b.boolParam("smtpd_reject_unlisted_recipient"); err != nil {
		return err
	}
	if m.rejectUnlistedSender, err = b.boolParam("smtpd_reject_unlisted_sender"); err != nil {
		return err
	}
	if m.doubleBounce, err = b.value("double_bounce_sender"); err != nil {
		return err
	}
	m.delimiter = b.access.RecipientDelimiter
	return nil
}

// Address classes, as trivial-rewrite resolves them.
const (
	classDefault = iota
	classLocal
	classAlias
	classVirtual
	classRelay
)

func (b *builder) addressClass(domain string) int {
	switch {
	case b.mydest.has(domain):
		return classLocal
	case b.maps.aliasDomains.has(domain):
		return classAlias
	case b.maps.mailboxDomains.has(domain):
		return classVirtual
	case b.relay.has(domain):
		return classRelay
	}
	return classDefault
}

// finalDestination reports a domain that mail is delivered to here:
// mydestination, virtual_alias_domains, virtual_mailbox_domains (Postfix's
// RESOLVE_CLASS_FINAL).
func (b *builder) finalDestination(domain string) bool {
	c := b.addressClass(domain)
	return c == classLocal || c == classAlias || c == classVirtual
}

// mapQueries are mail_addr_find's keys for an address: user+ext@domain,
// user@domain, then for a local domain user+ext and user, then @domain.
// A pattern table is asked the whole address only.
func (m *addressMaps) find(tables []postfix.Table, local, domain string, isLocal bool) bool {
	local, domain = strings.ToLower(local), strings.ToLower(domain)
	base := local
	if m.delimiter != "" {
		if i := strings.IndexAny(local, m.delimiter); i > 0 {
			base = local[:i]
		}
	}
	full := local + "@" + domain
	for _, t := range tables {
		if !t.Fixed() {
			if _, ok := t.Find(full); ok {
				return true
			}
			continue
		}
		qs := []string{full}
		if base != local {
			qs = append(qs, base+"@"+domain)
		}
		if isLocal {
			qs = append(qs, local)
			if base != local {
				qs = append(qs, base)
			}
		}
		qs = append(qs, "@"+domain)
		for _, q := range qs {
			if _, ok := t.Find(q); ok {
				return true
			}
		}
	}
	return false
}

// unlistedState records, per RCPT, that an address was already checked
// by an explicit reject_unlisted_*, so the implicit check of
// smtpd_reject_unlisted_* is not made twice (Postfix's
// *_rcptmap_checked).
type unlistedState struct{ rcpt, sender bool }

type unlistedKey struct{}

// withUnlistedState gives one stage's evaluation its unlistedState.
func withUnlistedState(c smtpcheck.Check) smtpcheck.Check {
	return withFresh[unlistedState](c, unlistedKey{})
}

// roleAddress is the address a sender (rcpt false) or recipient (rcpt
// true) restriction judges: the recipient at RCPT, the sender once MAIL
// is given; the null address is never judged.
func roleAddress(s *smtpcheck.Session, rcpt bool) (smtpcheck.Address, bool) {
	switch {
	case rcpt && s.Stage == smtpcheck.StageRcpt && !s.Rcpt.IsNull():
		return s.Rcpt, true
	case !rcpt && s.Mail != nil && !s.Mail.From.IsNull():
		return s.Mail.From, true
	}
	return smtpcheck.Address{}, false
}

// unlisted is reject_unlisted_recipient (rcpt) or reject_unlisted_sender.
// implicit is the check smtpd_reject_unlisted_* adds at the end of the
// list, which is skipped when an explicit one already ran.
func (b *builder) unlisted(rcpt, implicit bool) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		a, ok := roleAddress(s, rcpt)
		if !ok {
			return smtpcheck.Result{}
		}
		if st, _ := ctx.Value(unlistedKey{}).(*unlistedState); st != nil {
			done := &st.sender
			if rcpt {
				done = &st.rcpt
			}
			if implicit && *done {
				return smtpcheck.Result{}
			}
			if !implicit && !warnOnlyIn(ctx) {
				*done = true
			}
		}
		return b.checkAddressMaps(a, rcpt)
	}
}

// checkAddressMaps is check_rcpt_maps for one address.
func (b *builder) checkAddressMaps(a smtpcheck.Address, rcpt bool) smtpcheck.Result {
	m := &b.maps
	domain := a.Domain
	bare := domain == ""
	if bare {
		// trivial-rewrite completes a bare user name with @$myorigin.
		domain = b.access.Origin
	}
	domain = strings.TrimSuffix(domain, ".")
	cls := b.addressClass(domain)
	if bare && domain == "" {
		// append_at_myorigin = no: the address stays local.
		cls = classLocal
	}
	isLocal := cls == classLocal
	known := func(ts ...[]postfix.Table) bool {
		for _, t := range ts {
			if m.find(t, a.Local, domain, isLocal) {
				return true
			}
		}
		return false
	}
	if known(m.rcptCanonical, m.canonical, m.alias) || (!rcpt && known(m.sendCanonical)) {
		return smtpcheck.Result{}
	}
	kind, enh, rule := postfix.Sender, "5.1.0", "reject_unlisted_sender"
	if rcpt {
		kind, enh, rule = postfix.Recipient, "5.1.1", "reject_unlisted_recipient"
	}
	refuse := func(code int, enh, table string) smtpcheck.Result {
		text := "User unknown"
		if m.showTable {
			text += " in " + table
		}
		return postfix.Refuse(postfix.ReplyFor(kind, a.String(), code, enh, "", text, ""),
			smtpcheck.Reason{Rule: rule, Matched: a.String(), Evidence: "not in " + table})
	}
	switch cls {
	case classAlias:
		// trivial-rewrite's own "5.1.1 User unknown": its DSN wins.
		return refuse(m.aliasCode, "5.1.1", "virtual alias table")
	case classLocal:
		l := strings.ToLower(a.Local)
		if len(m.local) > 0 && l != "postmaster" && l != "mailer-daemon" && l != strings.ToLower(m.doubleBounce) && !known(m.local) {
			return refuse(m.localCode, enh, "local recipient table")
		}
	case classVirtual:
		if len(m.mailbox) > 0 && !known(m.mailbox) {
			return refuse(m.mailboxCode, enh, "virtual mailbox table")
		}
	case classRelay:
		if len(m.relay) > 0 && !known(m.relay) {
			return refuse(m.relayCode, enh, "relay recipient table")
		}
	}
	return smtpcheck.Result{}
}
