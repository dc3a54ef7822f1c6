package access

import (
	"context"
	"sync"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// CheckName names the access map check in traces.
const CheckName = "access"

// lookupKind says which tag (or combo) produced a verdict; it chooses the
// catalog reply of a REJECT.
type lookupKind uint8

const (
	kindConnectTag lookupKind = iota + 1
	kindHeloTag
	kindConnectFromTag
	kindFromTag
	kindConnectToTag
	kindFromToTag
	kindToTag
)

// found is one stage's hit, kept so that a later stage without a hit keeps
// the previous stage's state.
type found struct {
	kind    lookupKind
	key     string
	subject string
	verdict MapValue
}

func (f *found) ok() bool { return f != nil && f.kind != 0 }

// sessionState is the access map's memory of one session, allocated once.
// It keeps the strings its chains are cut from, not the chains: a dozen
// string headers per chain would cost more to allocate and scan than
// cutting the keys again, onto the stack, at each lookup.
type sessionState struct {
	mu       sync.Mutex
	clientOK bool   // bracket and name set
	bracket  string // the client chain's parts (clientParts)
	name     string
	conn     found           // Connect: (or Helo:) hit
	mail     *smtpcheck.Mail // the transaction mailState belongs to
	fromL    string          // the sender (MailKey), "" and "" for none
	fromD    string
	mailHit  found
	rcptOK   bool   // a recipient of this transaction was allowlisted (OK)
	rcptCont bool   // a recipient of this transaction was CONTENT
	rcptMark found  // strongest DISCARD/TAG/SAVE/TRAP among recipients
	release  func() // concurrency slot to release (limits)
	released bool
}

// chainArr holds a chain on the caller's stack: client chains have up to a
// dozen keys or so (a longer one spills to the heap).
type chainArr [12]string

// domainArr holds a mail chain's domain chain on the caller's stack.
type domainArr [6]string

type stateKey struct{}

// state returns the session's access state, creating it.
func state(s *smtpcheck.Session) *sessionState {
	return smtpcheck.ValueOf[sessionState](s, stateKey{})
}

// clientChain appends the client chain to dst; its parts are made once
// per session.
func (st *sessionState) clientChain(s *smtpcheck.Session, dst []string) []string {
	if !st.clientOK {
		name := ""
		if len(s.Conn.Confirmed) > 0 {
			name = s.Conn.Confirmed[0]
		}
		st.bracket, st.name = clientParts(Client{IP: s.Conn.ClientIP, Name: name})
		st.clientOK = true
	}
	return appendClientParts(dst, st.bracket, st.name)
}

// fromKeys returns the sender chain of the current transaction, cut into
// dst.
func (st *sessionState) fromKeys(dst []string) chain { return mailKeys(dst, st.fromL, st.fromD) }

// clientKeysFor returns the client chain for a combo lookup of kind, left
// uncut when the map holds no such combo.
func (st *sessionState) clientKeysFor(m *Map, kind int, s *smtpcheck.Session, dst []string) chain {
	if m == nil || m.combo[kind] == 0 {
		return chain{}
	}
	return chain{keys: st.clientChain(s, dst)}
}

// fromKeysFor is fromKeys for a combo lookup of kind, left uncut when the
// map holds no such combo.
func (st *sessionState) fromKeysFor(m *Map, kind int, dst []string) chain {
	if m == nil || m.combo[kind] == 0 {
		return chain{}
	}
	return st.fromKeys(dst)
}

// fromChain appends the sender chain of the current transaction to dst.
func (st *sessionState) fromChain(dst []string) []string {
	return appendMailChain(dst, st.fromL, st.fromD)
}

// transaction resets the per-transaction state when a new MAIL began.
func (st *sessionState) transaction(s *smtpcheck.Session, literalPlus bool) {
	if s.Mail == st.mail {
		return
	}
	st.mail = s.Mail
	st.mailHit = found{}
	st.rcptOK, st.rcptCont, st.rcptMark = false, false, found{}
	st.fromL, st.fromD = "", ""
	if s.Mail != nil {
		st.fromL, st.fromD = MailKey(s.Mail.From.Local, s.Mail.From.Domain, literalPlus)
	}
}

// carried returns the state a stage without a hit keeps: the MAIL hit, else
// the connect (or HELO) hit.
func (st *sessionState) carried() *found {
	if st.mailHit.ok() {
		return &st.mailHit
	}
	if st.conn.ok() {
		return &st.conn
	}
	return nil
}

// Check returns the access map check. Put it in every stage's list (first,
// as smtpf consults its map before anything else); it looks at s.Stage:
//
//   - connect: Connect: (client IP chain, [ip], PTR name chain, Connect:)
//   - HELO: Helo:
//   - MAIL: Connect:<client>:From:<sender>, then From:
//   - RCPT: Connect:<client>:To:<rcpt>, then From:<sender>:To:<rcpt>, then To:
//   - DATA and later: the message's state (one OK recipient allowlists it)
//
// A stage with no hit keeps the previous stage's state. OK answers Accept
// at every later stage (so the rest of each list, content checks included,
// is skipped); CONTENT answers Accept up to DATA only. REJECT and TEMPFAIL
// are refusals the Policy may hold for RCPT; IREJECT is Immediate.
func (a *Access) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		m := a.Map()
		st := state(s)
		st.mu.Lock()
		defer st.mu.Unlock()
		switch s.Stage {
		case smtpcheck.StageConnect:
			var carr chainArr
			client := chain{keys: st.clientChain(s, carr[:0])}
			st.conn = found{}
			if h := m.findChain(TagConnect, &client, true); h.Found() {
				st.conn = found{kind: kindConnectTag, key: h.Key, subject: client.first(), verdict: h.Value.Decide(a.clientSubject(s))}
				return a.result(ctx, s, &st.conn, true)
			}
		case smtpcheck.StageHelo:
			if h := m.find(TagHelo, HeloChain(s.Helo.Name), true); h.Found() {
				st.conn = found{kind: kindHeloTag, key: h.Key, subject: s.Helo.Name, verdict: h.Value.Decide(Subject{Text: lowerTrim(s.Helo.Name)})}
				return a.result(ctx, s, &st.conn, true)
			}
			return a.result(ctx, s, st.carried(), false)
		case smtpcheck.StageMail:
			st.transaction(s, a.cfg.LiteralPlus)
			if s.Mail == nil {
				return smtpcheck.Result{}
			}
			var carr chainArr
			var farr domainArr
			from := st.fromKeys(farr[:0])
			client := st.clientKeysFor(m, comboConnectFrom, s, carr[:0])
			if h := m.findCombo(comboConnectFrom, TagConnect, &client, TagFrom, &from); h.Found() {
				st.mailHit = found{kind: kindConnectFromTag, key: h.Key, subject: s.Mail.From.String(), verdict: h.Value.Decide(Subject{Text: from.first()})}
				return a.result(ctx, s, &st.mailHit, true)
			}
			if h := m.findChain(TagFrom, &from, true); h.Found() {
				st.mailHit = found{kind: kindFromTag, key: h.Key, subject: s.Mail.From.String(), verdict: h.Value.Decide(Subject{Text: from.first()})}
				return a.result(ctx, s, &st.mailHit, true)
			}
			return a.result(ctx, s, st.carried(), false)
		case smtpcheck.StageRcpt:
			st.transaction(s, a.cfg.LiteralPlus)
			l, d := MailKey(s.Rcpt.Local, s.Rcpt.Domain, a.cfg.LiteralPlus)
			var carr chainArr
			var farr, rarr domainArr
			rc := mailKeys(rarr[:0], l, d)
			var f found
			client, from := st.clientKeysFor(m, comboConnectTo, s, carr[:0]), st.fromKeysFor(m, comboFromTo, farr[:0])
			h := m.findCombo(comboConnectTo, TagConnect, &client, TagTo, &rc)
			if h.Found() {
				f.kind = kindConnectToTag
			} else if h = m.findCombo(comboFromTo, TagFrom, &from, TagTo, &rc); st.mail != nil && h.Found() {
				f.kind = kindFromToTag
			} else if h = m.findChain(TagTo, &rc, true); h.Found() {
				f.kind = kindToTag
			}
			if !f.ok() {
				return a.result(ctx, s, st.carried(), false)
			}
			f.key, f.subject, f.verdict = h.Key, s.Rcpt.String(), h.Value.Decide(Subject{Text: rc.first()})
			r := a.result(ctx, s, &f, true)
			switch {
			case r.Action == smtpcheck.Accept && f.verdict.Action == Content:
				st.rcptCont = true
			case r.Action == smtpcheck.Accept:
				st.rcptOK = true
			case r.Action == smtpcheck.Discard || r.Action == smtpcheck.Tag || r.Action == smtpcheck.Quarantine:
				if !st.rcptMark.ok() || f.verdict.Action > st.rcptMark.verdict.Action {
					st.rcptMark = f
				}
			}
			return r
		default: // DATA, headers, end of data: the message's state
			st.transaction(s, a.cfg.LiteralPlus)
			if st.rcptOK {
				return smtpcheck.Permit(smtpcheck.Reason{Check: CheckName, Rule: "to", Evidence: "a recipient is allowlisted (OK)"})
			}
			if st.rcptCont && s.Stage == smtpcheck.StageData {
				return smtpcheck.Permit(smtpcheck.Reason{Check: CheckName, Rule: "to", Evidence: "a recipient is CONTENT"})
			}
			if st.rcptMark.ok() {
				return a.result(ctx, s, &st.rcptMark, false)
			}
			return a.result(ctx, s, st.carried(), false)
		}
		return smtpcheck.Result{}
	}
}

func firstOr(c []string, def string) string {
	if len(c) > 0 {
		return c[0]
	}
	return def
}

func lowerTrim(s string) string {
	b := []byte(s)
	b = appendLower(b[:0], b)
	return string(b)
}

func (a *Access) clientSubject(s *smtpcheck.Session) Subject {
	subj := Subject{IP: s.Conn.ClientIP}
	if len(s.Conn.Confirmed) > 0 {
		subj.Text = lowerTrim(s.Conn.Confirmed[0])
	}
	return subj
}

// result turns a hit into the check's result. fresh is false when the state
// is carried from an earlier stage: a carried refusal was given (or held)
// when it was found and is not repeated.
func (a *Access) result(ctx context.Context, s *smtpcheck.Session, f *found, fresh bool) smtpcheck.Result {
	if !f.ok() {
		return smtpcheck.Result{}
	}
	v := f.verdict
	reason := smtpcheck.Reason{Check: CheckName, Rule: f.key, Matched: f.subject, Evidence: v.String()}
	act := v.Action
	if act == SPFPass {
		act = Skip
		if a.cfg.SPF != nil && s.Mail != nil {
			pass, err := a.cfg.SPF(ctx, s)
			if err != nil {
				return smtpcheck.Result{Err: err, Reason: reason}
			}
			if pass {
				act = OK
			}
		}
	}
	late := s.Stage == smtpcheck.StageHeaders || s.Stage == smtpcheck.StageEndOfData
	switch act {
	case OK:
		return smtpcheck.Permit(reason)
	case Content:
		if late {
			return smtpcheck.Pass(reason)
		}
		return smtpcheck.Permit(reason)
	case Reject, IReject, TempFail:
		if !fresh {
			return smtpcheck.Result{}
		}
		r := smtpcheck.Refuse(v.override(a.refusal(s, f.kind, act)), reason)
		r.Immediate = act == IReject
		return r
	case Discard:
		return smtpcheck.Result{Action: smtpcheck.Discard, Reason: reason}
	case Tag:
		return smtpcheck.Result{Action: smtpcheck.Tag, Reason: reason}
	case Save, Trap:
		return smtpcheck.Result{Action: smtpcheck.Quarantine, Reason: reason}
	}
	if fresh {
		return smtpcheck.Pass(reason)
	}
	return smtpcheck.Result{}
}

// refusal returns the catalog reply smtpf gives for a REJECT (or TEMPFAIL)
// found by a lookup of kind k.
func (a *Access) refusal(s *smtpcheck.Session, k lookupKind, act MapAction) reply.Reply {
	if act == TempFail {
		return catalogReply(refTempFail)
	}
	host, ip := s.Conn.Name(), s.Conn.ClientIP.String()
	sender := ""
	if s.Mail != nil {
		sender = s.Mail.From.String()
	}
	rcpt := s.Rcpt.String()
	switch k {
	case kindConnectTag:
		return catalogReply(refConnectReject, host, ip)
	case kindConnectFromTag:
		return catalogReply(refConnectFromReject, host, ip, sender)
	case kindFromTag:
		return catalogReply(refFromReject, sender)
	case kindConnectToTag:
		return catalogReply(refConnectToReject, host, ip, rcpt)
	case kindFromToTag:
		return catalogReply(refFromToReject, sender, rcpt)
	case kindToTag:
		return catalogReply(refToReject, rcpt)
	}
	return catalogReply(refGenericReject)
}

// State reports the access map's verdict for the session as it stands
// (the latest stage's hit, or the one kept from an earlier stage), so that
// other checks and the adapter can see an allowlisting: Action None when
// nothing matched.
func State(s *smtpcheck.Session) (MapValue, string) {
	st, ok := s.Value(stateKey{}).(*sessionState)
	if !ok {
		return MapValue{}, ""
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.rcptOK {
		return MapValue{Action: OK}, "to"
	}
	if f := st.carried(); f != nil {
		return f.verdict, f.key
	}
	return MapValue{}, ""
}
