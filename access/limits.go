package access

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// LimitsName names the limits check in traces.
const LimitsName = "access-limits"

// ConcurrencyTTL bounds how long a concurrency slot survives a host that
// died without releasing it: the counter's expiry is renewed by every
// connection and release, and lapses this long after the last one.
const ConcurrencyTTL = time.Hour

// rateWindow is the fixed window of Rate-Connect and Null-Rate-To.
const rateWindow = 60 * time.Second

func (a *Access) skey(kind, id string) string { return a.cfg.KeyPrefix + kind + id }

// Limits returns the check of the numeric tags, counted in the Store:
//
//   - connect: Concurrent-Connect: (421 #329) and Rate-Connect: (421 #522),
//     both answered with Disconnect.
//   - MAIL: Msg-Limit-Connect: and Msg-Limit-From: (451 #475, counting
//     transactions), Length-Connect: and Length-From: against SIZE= (550 #625).
//   - RCPT: Msg-Limit-To: (451 #475), Null-Rate-To: for the null sender
//     (550 #505), Length-To: against SIZE=.
//   - end of data: the smallest Length- limit of the client, the sender and
//     every recipient against the message's real size.
//
// Values are looked up with the same chains as Connect:, From: and To:
// (bare tags are defaults); a value of 0 means no limit. Counters are kept
// per client IP, per sender and per recipient address. A store error is
// returned as Result.Err: wrap the check with smtpcheck.Guard to choose the
// error policy. With no Store configured the check does nothing.
//
// A connection that took a concurrency slot must give it back: the server
// adapter calls Release when the session ends.
func (a *Access) Limits() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if a.cfg.Store == nil {
			return smtpcheck.Result{}
		}
		m := a.Map()
		st := state(s)
		st.mu.Lock()
		var carr, farr chainArr
		client := st.clientChain(s, carr[:0])
		st.transaction(s, a.cfg.LiteralPlus)
		from := st.fromChain(farr[:0])
		st.mu.Unlock()
		switch s.Stage {
		case smtpcheck.StageConnect:
			if r := a.concurrency(ctx, s, m, st, client); r.Action != smtpcheck.Continue || r.Err != nil {
				return r
			}
			return a.rate(ctx, s, m, client)
		case smtpcheck.StageMail:
			if r := a.msgLimit(ctx, m, TagMsgLimitConnect, client, "msgc:", firstOr(client, ""), s.Conn.ClientIP.String()); r.Action != smtpcheck.Continue || r.Err != nil {
				return r
			}
			if s.Mail != nil && !s.Mail.From.IsNull() {
				if r := a.msgLimit(ctx, m, TagMsgLimitFrom, from, "msgf:", firstOr(from, ""), s.Mail.From.String()); r.Action != smtpcheck.Continue || r.Err != nil {
					return r
				}
			}
			if s.Mail != nil && s.Mail.Size > 0 {
				return a.length(s, m, s.Mail.Size, client, from, nil)
			}
		case smtpcheck.StageRcpt:
			l, d := MailKey(s.Rcpt.Local, s.Rcpt.Domain, a.cfg.LiteralPlus)
			var arr [12]string
			rc := appendMailChain(arr[:0], l, d)
			if r := a.msgLimit(ctx, m, TagMsgLimitTo, rc, "msgt:", firstOr(rc, ""), s.Rcpt.String()); r.Action != smtpcheck.Continue || r.Err != nil {
				return r
			}
			if s.Mail != nil && s.Mail.From.IsNull() {
				if r := a.nullRate(ctx, s, m, rc); r.Action != smtpcheck.Continue || r.Err != nil {
					return r
				}
			}
			if s.Mail != nil && s.Mail.Size > 0 {
				return a.length(s, m, s.Mail.Size, nil, nil, [][]string{rc})
			}
		case smtpcheck.StageEndOfData:
			if s.Message == nil {
				return smtpcheck.Result{}
			}
			rcpts := make([][]string, 0, len(s.Rcpts))
			for _, r := range s.Rcpts {
				l, d := MailKey(r.Local, r.Domain, a.cfg.LiteralPlus)
				rcpts = append(rcpts, appendMailChain(nil, l, d))
			}
			return a.length(s, m, s.Message.Size(), client, from, rcpts)
		}
		return smtpcheck.Result{}
	}
}

func limitReason(h Hit, matched, evidence string) smtpcheck.Reason {
	return smtpcheck.Reason{Check: LimitsName, Rule: h.Key, Matched: matched, Evidence: evidence}
}

func (a *Access) concurrency(ctx context.Context, s *smtpcheck.Session, m *Map, st *sessionState, client []string) smtpcheck.Result {
	h := m.find(TagConcurrentConnect, client, true)
	if !h.Found() || h.Value.Number <= 0 || len(client) == 0 {
		return smtpcheck.Result{}
	}
	max := h.Value.Number
	key := a.skey("conc:", client[0])
	n, err := addConcurrent(ctx, a.cfg.Store, key, 1)
	if err != nil {
		return smtpcheck.Result{Err: err, Reason: limitReason(h, s.Conn.ClientIP.String(), "")}
	}
	if n > max {
		if _, err := addConcurrent(ctx, a.cfg.Store, key, -1); err != nil {
			a.log.Warn("access: concurrency slot not returned", "key", key, "error", err)
		}
		r := smtpcheck.Refuse(catalogReply(refConcurrent, s.Conn.Name(), s.Conn.ClientIP.String(), strconv.FormatInt(max, 10)),
			limitReason(h, s.Conn.ClientIP.String(), fmt.Sprintf("%d concurrent > %d", n, max)))
		r.Action = smtpcheck.Disconnect
		return r
	}
	store := a.cfg.Store
	st.mu.Lock()
	st.release = func() {
		// The session's context is gone by now; give the release its own.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := addConcurrent(rctx, store, key, -1); err != nil {
			a.log.Warn("access: concurrency slot not returned", "key", key, "error", err)
		}
	}
	st.released = false
	st.mu.Unlock()
	return smtpcheck.Result{}
}

// addConcurrent adds delta to a concurrency counter, never below zero, and
// renews its expiry.
func addConcurrent(ctx context.Context, st store.Store, key string, delta int64) (int64, error) {
	var n int64
	err := st.Update(ctx, key, func(old []byte, ok bool) ([]byte, time.Duration, error) {
		cur := int64(0)
		if ok {
			cur, _ = strconv.ParseInt(string(old), 10, 64)
		}
		n = cur + delta
		if n <= 0 {
			n = 0
			if !ok {
				return nil, 0, store.ErrNoChange
			}
			return nil, 0, nil
		}
		return strconv.AppendInt(nil, n, 10), ConcurrencyTTL, nil
	})
	if errors.Is(err, store.ErrNoChange) {
		err = nil
	}
	return n, err
}

// Release gives back the concurrency slot a session took at connect (the
// access map's Concurrent-Connect: and the Anvil's connection count). The
// server adapter calls it once when the connection closes (calling it again,
// or for a session that took no slot, does nothing).
func Release(ctx context.Context, s *smtpcheck.Session) {
	releaseAnvil(ctx, s)
	st, ok := s.Value(stateKey{}).(*sessionState)
	if !ok {
		return
	}
	st.mu.Lock()
	rel := st.release
	if st.released {
		rel = nil
	}
	st.released = true
	st.mu.Unlock()
	if rel != nil {
		rel()
	}
}

func (a *Access) rate(ctx context.Context, s *smtpcheck.Session, m *Map, client []string) smtpcheck.Result {
	h := m.find(TagRateConnect, client, true)
	if !h.Found() || h.Value.Number <= 0 || len(client) == 0 {
		return smtpcheck.Result{}
	}
	n, err := a.cfg.Store.Incr(ctx, a.skey("rate:", client[0]), 1, rateWindow)
	if err != nil {
		return smtpcheck.Result{Err: err, Reason: limitReason(h, s.Conn.ClientIP.String(), "")}
	}
	if max := h.Value.Number; n > max {
		r := smtpcheck.Refuse(catalogReply(refRateConnect, s.Conn.Name(), s.Conn.ClientIP.String(), strconv.FormatInt(n, 10), strconv.FormatInt(max, 10)),
			limitReason(h, s.Conn.ClientIP.String(), fmt.Sprintf("%d connections > %d/60s", n, max)))
		r.Action = smtpcheck.Disconnect
		return r
	}
	return smtpcheck.Result{}
}

func (a *Access) msgLimit(ctx context.Context, m *Map, tag string, chain []string, kind, id, who string) smtpcheck.Result {
	h := m.find(tag, chain, true)
	if !h.Found() || h.Value.Number <= 0 || id == "" {
		return smtpcheck.Result{}
	}
	v := h.Value
	n, err := a.cfg.Store.Incr(ctx, a.skey(kind, id), 1, v.Period)
	if err != nil {
		return smtpcheck.Result{Err: err, Reason: limitReason(h, who, "")}
	}
	if n > v.Number {
		num, unit := periodWords(v.Period)
		return smtpcheck.Refuse(catalogReply(refMsgLimit, who, strconv.FormatInt(v.Number, 10), plural(v.Number), strconv.FormatInt(num, 10), unit, plural(num)),
			limitReason(h, who, fmt.Sprintf("%d messages > %d per %s", n, v.Number, v.Period)))
	}
	return smtpcheck.Result{}
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// periodWords renders a period as smtpf does: a count and a unit word.
func periodWords(d time.Duration) (int64, string) {
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{7 * 24 * time.Hour, "week"}, {24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if d >= u.d && d%u.d == 0 {
			return int64(d / u.d), u.name
		}
	}
	return int64(d / time.Second), "second"
}

func (a *Access) nullRate(ctx context.Context, s *smtpcheck.Session, m *Map, rc []string) smtpcheck.Result {
	h := m.find(TagNullRateTo, rc, true)
	if !h.Found() || h.Value.Number <= 0 || len(rc) == 0 {
		return smtpcheck.Result{}
	}
	n, err := a.cfg.Store.Incr(ctx, a.skey("null:", rc[0]), 1, rateWindow)
	if err != nil {
		return smtpcheck.Result{Err: err, Reason: limitReason(h, s.Rcpt.String(), "")}
	}
	if max := h.Value.Number; n > max {
		return smtpcheck.Refuse(catalogReply(refNullRate, strconv.FormatInt(n, 10), s.Rcpt.String(), strconv.FormatInt(max, 10)),
			limitReason(h, s.Rcpt.String(), fmt.Sprintf("%d null-sender messages > %d/60s", n, max)))
	}
	return smtpcheck.Result{}
}

// length applies the smallest Length- limit that matches the client, the
// sender and the recipients to size.
func (a *Access) length(s *smtpcheck.Session, m *Map, size int64, client, from []string, rcpts [][]string) smtpcheck.Result {
	var best Hit
	consider := func(h Hit) {
		if h.Found() && h.Value.Number > 0 && (!best.Found() || h.Value.Number < best.Value.Number) {
			best = h
		}
	}
	if client != nil {
		consider(m.find(TagLengthConnect, client, true))
	}
	if from != nil {
		consider(m.find(TagLengthFrom, from, true))
	}
	for _, rc := range rcpts {
		consider(m.find(TagLengthTo, rc, true))
	}
	if !best.Found() || size <= best.Value.Number {
		return smtpcheck.Result{}
	}
	ip := s.Conn.ClientIP.String()
	return smtpcheck.Refuse(catalogReply(refLength, s.Conn.Name(), ip, strconv.FormatInt(size, 10), strconv.FormatInt(best.Value.Number, 10)),
		limitReason(best, ip, fmt.Sprintf("%d bytes > %d", size, best.Value.Number)))
}

// GreyPeriod returns the greylisting period the map sets for the session:
// the smallest of Grey-Connect: (client chain) and Grey-To: (the current
// recipient at RCPT, else every accepted recipient). ok is false when no
// entry applies and the greylist keeps its own period. Its signature is the
// hook the greylist package takes.
func (a *Access) GreyPeriod(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
	m := a.Map()
	if !m.HasTag(TagGreyConnect) && !m.HasTag(TagGreyTo) {
		return 0, false
	}
	var best time.Duration
	ok := false
	consider := func(h Hit) {
		if h.Found() && (!ok || h.Value.Period < best) {
			best, ok = h.Value.Period, true
		}
	}
	name := ""
	if len(s.Conn.Confirmed) > 0 {
		name = s.Conn.Confirmed[0]
	}
	consider(m.find(TagGreyConnect, appendClientChain(nil, Client{IP: s.Conn.ClientIP, Name: name}), true))
	rcpts := s.Rcpts
	if s.Stage == smtpcheck.StageRcpt {
		rcpts = []smtpcheck.Address{s.Rcpt}
	}
	for _, r := range rcpts {
		consider(m.find(TagGreyTo, MailChain(r.Local, r.Domain, a.cfg.LiteralPlus), true))
	}
	return best, ok
}
