package smtpcheck

import (
	"context"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
)

// RelayControl returns the check that keeps the server from being an open
// relay: at RCPT, a recipient whose domain is not one of domains is refused
// with the catalog's "relaying denied" (smtpf#288), unless the client
// authenticated or is in a trusted network. A domain written with a leading
// dot, ".example.org", accepts its subdomains too.
func RelayControl(domains ...string) Check {
	exact := make(map[string]bool)
	var parents []string
	for _, d := range domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if strings.HasPrefix(d, ".") {
			parents = append(parents, d)
		} else if d != "" {
			exact[d] = true
		}
	}
	return Named("relay", func(ctx context.Context, s *Session) Result {
		if s.Stage != StageRcpt {
			return Result{}
		}
		if s.Conn.Authenticated() || s.Conn.Trusted {
			return Result{}
		}
		dom := s.Rcpt.DomainFold()
		if dom == "" {
			// "postmaster" without a domain is always local (RFC 5321 4.5.1).
			return Result{}
		}
		if exact[dom] {
			return Result{}
		}
		for _, p := range parents {
			if strings.HasSuffix(dom, p) {
				return Result{}
			}
		}
		return Refuse(reply.RelayDenied(s.Rcpt.String()), Reason{Check: "relay", Rule: "accepted-domains", Matched: dom})
	})
}
