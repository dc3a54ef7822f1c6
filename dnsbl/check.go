package dnsbl

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Style chooses the catalog reply for a listing when Config.Reply is nil.
type Style uint8

// Reply styles.
const (
	// StyleSmtpf is 550 5.7.0 "host [ip] black listed by zone"
	// (reply.DNSBLListed, smtpf#525/#530). No TXT lookup is needed.
	StyleSmtpf Style = iota
	// StylePostfix is 554 5.7.1 "Service unavailable; Client host [ip]
	// blocked using zone; reason" (reply.DNSBLBlocked), with the list's
	// TXT reason fetched for it.
	StylePostfix
)

// HiddenZone is the name replies give a list without a Name when
// Config.HideZones is set.
const HiddenZone = "dnsbl"

// Subject says what a domain-list check looked up; it names the thing in
// replies ($class) and in the result's reason.
type Subject uint8

// Subjects.
const (
	SubjectClient            Subject = iota // the client IP address
	SubjectHelo                             // the HELO/EHLO name
	SubjectSender                           // the MAIL FROM domain
	SubjectClientName                       // the client's verified (forward-confirmed) name
	SubjectReverseClientName                // the client's PTR name, unverified
	SubjectRecipient                        // the RCPT TO domain
)

var subjectClass = [...]string{"Client host", "Helo command", "Sender address", "Client host", "Unverified Client host", "Recipient address"}
var subjectCheck = [...]string{"dnsbl-client", "rhsbl-helo", "rhsbl-sender", "rhsbl-client", "rhsbl-reverse-client", "rhsbl-recipient"}

// String returns the check name for the subject, such as "rhsbl-helo".
func (s Subject) String() string {
	if int(s) < len(subjectCheck) {
		return subjectCheck[s]
	}
	return "dnsbl"
}

// zoneName is the list's name as replies show it.
func (c *ClientLists) zoneName(l *List) string {
	if l.Name != "" {
		return l.Name
	}
	if c.hideZones {
		return HiddenZone
	}
	return l.Zone
}

// Decide turns a verdict into a check result, in this order:
//   - the allowlists reached the Allow threshold: Accept;
//   - the score reached Reject: Reject with the listing reply;
//   - a list of positive weight failed and OnError is FailTemp or
//     FailClosed: the policy's temporary failure or rejection;
//   - the score reached TempFail, Quarantine or Tag: that action;
//   - otherwise Continue.
//
// The result's Score is always the verdict's score, so Decide also fits
// inside a smtpcheck.Score group. Replies come from the catalog (or
// Config.Reply); the list's TXT reason is fetched only when the reply
// shows it. s supplies the client's IP and name for the reply; it may be
// nil.
func (c *ClientLists) Decide(ctx context.Context, s *smtpcheck.Session, v *Verdict, subj Subject) smtpcheck.Result {
	reason := smtpcheck.Reason{Check: subj.String(), Matched: v.Subject}
	res := smtpcheck.Result{Score: float64(v.Score), Reason: reason}
	if v.Err != nil {
		res.Reason.Evidence = v.Err.Error()
		return res
	}
	listed := v.Listed()
	var names, codes []string
	for _, r := range listed {
		names = append(names, c.zoneName(r.List))
		for _, code := range r.Codes {
			codes = append(codes, code.String())
		}
	}
	res.Reason.Rule = strings.Join(names, ",")
	var ev []string
	if len(codes) > 0 {
		ev = append(ev, "codes="+strings.Join(codes, ","))
	}
	ev = append(ev, "score="+strconv.Itoa(v.Score))
	var errs []error
	for _, r := range v.Errors() {
		ev = append(ev, c.zoneName(r.List)+" error: "+c.logErr(c.zoneOf(r.List), r.Err))
		if r.List.Weight > 0 {
			errs = append(errs, r.Err)
		}
	}
	res.Reason.Evidence = strings.Join(ev, " ")
	if v.Allowed {
		res.Action = smtpcheck.Accept
		for i := range v.Lists {
			if r := &v.Lists[i]; r.Listed && r.List.Weight < 0 {
				res.Reason.Rule = c.zoneName(r.List)
				break
			}
		}
		return res
	}
	// The ladder is smtpcheck's; a score at or under Allow was already
	// seen by v.Allowed, which counts the allowlists alone.
	action := c.th.Decide(float64(v.Score))
	if action == smtpcheck.Reject && len(listed) > 0 {
		res.Action = smtpcheck.Reject
		res.Reply = c.listingReply(ctx, s, v, listed[0], subj)
		return res
	}
	if len(errs) > 0 && c.onError != smtpcheck.FailOpen {
		f := c.onError.Fail(errors.Join(errs...), res.Reason)
		f.Score = res.Score
		if c.onError == smtpcheck.FailTemp {
			f.Reply = reply.DNSBLTempFail(c.zoneName(c.failedList(v)), clientIP(s, v))
		}
		return f
	}
	switch action {
	case smtpcheck.TempFail:
		if len(listed) > 0 {
			res.Action = smtpcheck.TempFail
			res.Reply = reply.DNSBLTempFail(c.zoneName(listed[0].List), clientIP(s, v))
		}
	case smtpcheck.Quarantine, smtpcheck.Tag:
		res.Action = action
	}
	if res.Action == smtpcheck.Tag || res.Action == smtpcheck.Quarantine {
		res.Headers = []smtpcheck.HeaderField{{Name: "X-DNSBL", Value: v.Subject + " listed by " + strings.Join(names, ", ") + " (score " + strconv.Itoa(v.Score) + ")"}}
	}
	return res
}

func (c *ClientLists) zoneOf(l *List) *zone {
	for _, z := range c.zones {
		if &z.List == l {
			return z
		}
	}
	return &zone{List: *l}
}

// failedList is the first list of positive weight that failed.
func (c *ClientLists) failedList(v *Verdict) *List {
	for _, r := range v.Errors() {
		if r.List.Weight > 0 {
			return r.List
		}
	}
	return v.Lists[0].List
}

func clientIP(s *smtpcheck.Session, v *Verdict) string {
	if s != nil && s.Conn.ClientIP.IsValid() {
		return s.Conn.ClientIP.String()
	}
	if v.Kind == IPList {
		return v.Subject
	}
	return "unknown"
}

func clientHost(s *smtpcheck.Session) string {
	if s == nil {
		return "unknown"
	}
	return s.Conn.Name()
}

// listingReply builds the reply for the heaviest listing r.
func (c *ClientLists) listingReply(ctx context.Context, s *smtpcheck.Session, v *Verdict, r *ListResult, subj Subject) reply.Reply {
	zoneName := c.zoneName(r.List)
	ip := clientIP(s, v)
	if c.reply == nil {
		host := clientHost(s)
		if v.Kind == DomainList {
			host = v.Subject
		}
		if c.style == StylePostfix {
			text := ""
			if txt, _ := c.TXT(ctx, r); len(txt) > 0 {
				text = "; " + strings.Join(txt, " ")
			}
			return reply.DNSBLBlocked(ip, zoneName, text)
		}
		return reply.DNSBLListed(host, ip, zoneName)
	}
	vars := map[string]string{
		"ip": ip, "host": clientHost(s), "what": v.Subject, "zone": zoneName,
		"class": subjectClass[subj],
	}
	if len(r.Codes) > 0 {
		vars["code"] = r.Codes[0].String()
	}
	if c.reply.UsesText() {
		if txt, _ := c.TXT(ctx, r); len(txt) > 0 {
			vars["text"] = strings.Join(txt, " ")
		}
	}
	return c.reply.Reply(vars)
}

// ClientCheck returns a check of the client's IP address against the
// ClientLists's IP lists: reject_rbl_client, postscreen's DNSBL test.
func (c *ClientLists) ClientCheck() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if !s.Conn.ClientIP.IsValid() {
			return smtpcheck.Result{}
		}
		v, _ := c.verdicts.Get().(*Verdict)
		if v == nil {
			v = new(Verdict)
		}
		c.CheckIPInto(ctx, s.Conn.ClientIP, v)
		// The result holds strings, never a pointer into v: v can serve
		// the next evaluation.
		res := c.Decide(ctx, s, v, SubjectClient)
		c.verdicts.Put(v)
		return res
	}
}

// HeloCheck returns a check of the HELO/EHLO name against the ClientLists's
// domain lists (reject_rhsbl_helo). An address literal or a name that is
// not a valid domain is not looked up.
func (c *ClientLists) HeloCheck() smtpcheck.Check {
	return c.domainCheck(SubjectHelo, func(_ context.Context, s *smtpcheck.Session) string { return s.Helo.Name })
}

// SenderCheck returns a check of the MAIL FROM domain against the
// ClientLists's domain lists (reject_rhsbl_sender). The null sender is not
// looked up.
func (c *ClientLists) SenderCheck() smtpcheck.Check {
	return c.domainCheck(SubjectSender, func(_ context.Context, s *smtpcheck.Session) string {
		if s.Mail == nil {
			return ""
		}
		return s.Mail.From.Domain
	})
}

// ClientNameCheck returns a check of the client's verified
// (forward-confirmed) name against the ClientLists's domain lists
// (reject_rhsbl_client). It uses the session's PTR facts, or looks them
// up when the session has none.
func (c *ClientLists) ClientNameCheck() smtpcheck.Check {
	return c.domainCheck(SubjectClientName, func(ctx context.Context, s *smtpcheck.Session) string {
		return firstName(ctx, s, s.Conn.Confirmed, func(ctx context.Context, ip netip.Addr) ([]string, error) {
			_, confirmed, err := c.res.VerifyPTR(ctx, ip)
			return confirmed, err
		})
	})
}

// firstName is the first of the client's names: of known, the session's
// own, once its PTR has been looked up; else of what lookup finds. No name
// or a failed lookup: "".
func firstName(ctx context.Context, s *smtpcheck.Session, known []string, lookup func(context.Context, netip.Addr) ([]string, error)) string {
	names := known
	if !s.Conn.PTRLooked {
		if !s.Conn.ClientIP.IsValid() {
			return ""
		}
		var err error
		if names, err = lookup(ctx, s.Conn.ClientIP); err != nil {
			return ""
		}
	}
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// ReverseClientNameCheck returns a check of the client's PTR name,
// verified or not, against the ClientLists's domain lists
// (reject_rhsbl_reverse_client).
func (c *ClientLists) ReverseClientNameCheck() smtpcheck.Check {
	return c.domainCheck(SubjectReverseClientName, func(ctx context.Context, s *smtpcheck.Session) string {
		return firstName(ctx, s, s.Conn.PTR, c.res.LookupPTR)
	})
}

func (c *ClientLists) domainCheck(subj Subject, name func(context.Context, *smtpcheck.Session) string) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		d := name(ctx, s)
		if d == "" || strings.HasPrefix(d, "[") {
			return smtpcheck.Result{}
		}
		if _, err := netip.ParseAddr(d); err == nil {
			return smtpcheck.Result{}
		}
		v := c.CheckDomain(ctx, d)
		return c.Decide(ctx, s, v, subj)
	}
}
