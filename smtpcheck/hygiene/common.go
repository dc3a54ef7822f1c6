package hygiene

import (
	"net/netip"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// refuse builds a refusal with the reason filled in.
func refuse(r reply.Reply, check, rule, matched string) smtpcheck.Result {
	return smtpcheck.Refuse(r, smtpcheck.Reason{Check: check, Rule: rule, Matched: matched})
}

// clientIP returns the client's address as text for replies.
func clientIP(s *smtpcheck.Session) string {
	if !s.Conn.ClientIP.IsValid() {
		return "unknown"
	}
	return s.Conn.ClientIP.String()
}

// senderText returns the sender as shown in replies.
func senderText(s *smtpcheck.Session) string {
	if s.Mail == nil {
		return ""
	}
	return s.Mail.From.String()
}

// sameAddr compares addresses with IPv4-mapped IPv6 unmapped.
func sameAddr(a, b netip.Addr) bool { return a.IsValid() && a.Unmap() == b.Unmap() }
