package gomilter

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/d--j/go-milter"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// required are the protocol options the filter needs of every MTA: header
// values as received, and no answer awaited for each header field and body
// chunk or for unknown commands (the filter only spools the former and has
// no check of the latter).
const required = milter.OptHeaderLeadingSpace |
	milter.OptNoHeaderReply | milter.OptNoBodyReply | milter.OptNoUnknown | milter.OptNoUnknownReply

// LeftOut returns what a filter for cfg asks the MTA to leave out, at
// option negotiation, when it runs policy p: the events no check of p
// reads (a stage's facts are read by the checks of that stage and later
// ones, and RCPT's event gives the refusals held from connect, HELO and
// MAIL; the header and body are read only by header and end-of-message
// checks, Config.Accepted and Config.MaxMessageBytes), the end of header
// (the header checks give their verdict at end of message), and the
// replies the MTA need not wait for:
//
//   - those of the stages where p cannot refuse (a stage without a check;
//     RCPT also gives the verdicts held from connect, HELO and MAIL; under
//     a dry run no stage refuses);
//   - under delayed rejection (Policy.DelayReject, smtpd_delay_reject), those
//     of connect, HELO, MAIL and DATA: their verdicts are held and given at
//     the first RCPT (DATA's at end of message), where the MTA awaits one;
//   - those of the header fields, the end of header and the body chunks,
//     whose verdicts come at end of message.
//
// The MTA then waits for the filter at RCPT, where the recipient's verdict
// and the held ones come, and at end of message, where the message's come
// and the filter adds its headers. The options the filter always asks for
// are not included.
func LeftOut(cfg Config, p *smtpcheck.Policy) milter.OptProtocol {
	if p == nil {
		p = &smtpcheck.Policy{}
	}
	checks := [...]bool{p.Connect != nil, p.Helo != nil, p.Mail != nil, p.Rcpt != nil, p.Data != nil, p.Headers != nil, p.EndOfData != nil}
	const connect, helo, mail, rcpt, data, headers, endOfData = 0, 1, 2, 3, 4, 5, 6
	last := -1 // the last stage with a check
	for i, c := range checks {
		if c {
			last = i
		}
	}
	held := checks[connect] || checks[helo] || checks[mail]
	if held {
		// Their refusals may be held and given at RCPT.
		last = max(last, rcpt)
	}
	if cfg.acceptedReads(p) {
		// It reads the whole session and message.
		last = endOfData
	}
	var out milter.OptProtocol
	for st, opt := range [...]milter.OptProtocol{milter.OptNoConnect, milter.OptNoHelo, milter.OptNoMailFrom, milter.OptNoRcptTo, milter.OptNoData} {
		if last < st {
			out |= opt
		}
	}
	sized := cfg.MaxMessageBytes > 0
	if !checks[headers] && last < endOfData && !sized {
		out |= milter.OptNoHeaders
	}
	if last < endOfData && !sized {
		out |= milter.OptNoBody
	}
	// The header checks run at end of message, on the fields spooled.
	out |= milter.OptNoEOH | milter.OptNoEOHReply
	delayed := p.DelayReject
	for _, nr := range [...]struct {
		opt     milter.OptProtocol
		refuses bool
	}{
		{milter.OptNoConnReply, checks[connect] && !delayed},
		{milter.OptNoHeloReply, checks[helo] && !delayed},
		{milter.OptNoMailReply, checks[mail] && !delayed},
		{milter.OptNoRcptReply, checks[rcpt] || held},
		{milter.OptNoDataReply, checks[data] && !delayed},
	} {
		if !nr.refuses || p.DryRun {
			out |= nr.opt
		}
	}
	return out
}

// acceptedReads reports whether Config.Accepted reads the messages of p.
func (cfg *Config) acceptedReads(p *smtpcheck.Policy) bool {
	return cfg.Accepted != nil && (cfg.AcceptedReads == nil || cfg.AcceptedReads(p))
}

// negotiator answers the MTA's option negotiation with what the policy in
// force needs (LeftOut), and remembers, by the options agreed, a policy
// that fits them: a session whose connection was negotiated before a
// reload that needs more (a new header check where the MTA was asked for
// no header) keeps a policy the MTA's events serve.
type negotiator struct {
	f  *Filter
	mu sync.Mutex
	// fits holds, by options left out, the latest policy that asked for
	// them, with its trusted networks.
	fits map[milter.OptProtocol]policyInForce
}

// policyInForce is a policy with the trusted networks it came with.
type policyInForce struct {
	policy  *smtpcheck.Policy
	trusted []netip.Prefix
}

// current returns the policy and trusted networks in force now.
func (f *Filter) current() policyInForce {
	if f.cfg.Current != nil {
		if p, trusted := f.cfg.Current(); p != nil {
			return policyInForce{p, trusted}
		}
	}
	return policyInForce{f.cfg.Policy, f.cfg.Trusted}
}

// negotiate is the library's negotiation (the MTA's version, the actions
// the filter needs, the data size offered) with the protocol options asked
// for by the policy in force. Options the MTA does not offer are left for
// the filter to handle (a version 2 MTA awaits every reply); those in
// required must be offered.
func (n *negotiator) negotiate(mtaVersion, milterVersion uint32, mtaActions, milterActions milter.OptAction, mtaProtocol, milterProtocol milter.OptProtocol, offered milter.DataSize) (uint32, milter.OptAction, milter.OptProtocol, milter.DataSize, error) {
	if mtaVersion < 2 || mtaVersion > milter.MaxServerProtocolVersion {
		return 0, 0, 0, 0, fmt.Errorf("gomilter: negotiate: unsupported protocol version %d", mtaVersion)
	}
	if milterActions&mtaActions != milterActions {
		return 0, 0, 0, 0, fmt.Errorf("gomilter: negotiate: the MTA does not offer the actions needed: offered %v, needed %v", mtaActions, milterActions)
	}
	if milterProtocol&mtaProtocol != milterProtocol {
		return 0, 0, 0, 0, fmt.Errorf("gomilter: negotiate: the MTA does not offer the protocol options needed: offered %v, needed %v", mtaProtocol, milterProtocol)
	}
	now := n.f.current()
	out := LeftOut(n.f.cfg, now.policy) & mtaProtocol
	n.mu.Lock()
	n.fits[out] = now
	n.mu.Unlock()
	return mtaVersion, milterActions, milterProtocol | out, offered, nil
}

// fitting returns the policy a new SMTP session runs under the options
// negotiated: the one in force when the events and replies the MTA left
// out are ones it does without (the usual case), otherwise the one these
// options were negotiated for.
func (n *negotiator) fitting(negotiated milter.OptProtocol) policyInForce {
	out := negotiated &^ required
	now := n.f.current()
	if out&^LeftOut(n.f.cfg, now.policy) == 0 {
		return now
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if pf, ok := n.fits[out]; ok {
		return pf
	}
	return now
}
