// Package smtppolicy is a library of SMTP policy checks for Go mail servers:
// the checks of Postfix's restrictions, postscreen, postgrey, smtpf and Haraka's
// plugins, as typed, composable, tested Go.
//
// A tour of the packages, from the bottom up:
//
//   - reply: the typed reply catalog. Every reply a check gives is a named
//     constructor (RelayDenied, HostBlacklisted, ...) with its basic and
//     enhanced codes, formatted safely for the wire; replies from other
//     servers are parsed, classified, explained and traced back to the rule
//     that produced them.
//   - smtpcheck/resolver: the one DNS resolver every DNS-based check shares,
//     with its cache; smtpcheck/resolver/dnstest is an in-process DNS server
//     for tests.
//   - smtpcheck/store: records and counters with TTLs, in memory, in bbolt
//     (boltstore) or in Redis (redisstore); storetest is the contract suite
//     any Store can run, redistest the Redis fixture for tests.
//   - smtpcheck: the session model, the Check type, results as data, the
//     combinators (FirstMatch, Parallel, Score), error policies, delayed
//     rejection and the decision trace; smtpcheck/checktest helps downstream
//     unit tests. Beside it: envelope (the RFC 5321 grammar), hygiene (HELO,
//     client name, envelope, header, size and smuggling checks) and spfcheck.
//   - dnsbl and greylist: DNS block and allow lists; triplet greylisting.
//   - callout: address verification by SMTP callout (smtpf's call-back and
//     call-ahead, Postfix's reject_unverified_*) with a verify cache.
//   - access and uri: smtpf and Postfix access maps with per-client limits;
//     the hosts a message links to, checked against URI lists.
//   - postconf: a policy written in Postfix's words, main.cf restriction
//     lists and the parameters that shape them, built on the checks above.
//   - examples: the adapters. examples/gosmtp turns a policy into a go-smtp
//     Backend; examples/smtpd is a ready SMTP server; examples/policyd offers
//     the checks to Postfix as a policy service; examples/explain explains a
//     reply pasted from a bounce.
//
// # The life of a verdict
//
// One connection to examples/smtpd, and the file that does each step:
//
//  1. Listener (examples/gosmtp/backend.go, Backend.Listener): the wrapped
//     net.Listener accepts the connection and records its facts (client
//     address, port, local address, trusted network) in a new
//     smtpcheck.Session; examples/gosmtp/conn.go watches the raw lines for
//     what go-smtp hides (the verb of HELO/EHLO, pre-greeting traffic).
//  2. Connect stage (examples/gosmtp/backend.go, session.connect): before
//     go-smtp greets, the reverse DNS is looked up and Policy.Connect runs;
//     a refusal here replaces the greeting and ends the connection.
//  3. Each command (examples/gosmtp/backend.go: NewSession for HELO/EHLO,
//     Mail, Rcpt, Data): the adapter records the command's facts in the
//     Session once (smtpcheck/session.go) and evaluates the policy at that
//     stage.
//  4. Policy (smtpcheck/policy.go, Policy.Evaluate): the stage's Check runs
//     (usually a FirstMatch list, smtpcheck/compose.go, of named checks
//     from hygiene, dnsbl, greylist, access ...), contained against panics
//     and deadlines (smtpcheck/check.go); its Result (smtpcheck/result.go)
//     is data: an Action, a catalog Reply, headers to add and a Reason.
//  5. Decision (smtpcheck/policy.go): delayed rejection holds a refusal
//     found at connect, HELO or MAIL for RCPT; a defer-if-permit (a
//     greylisting) becomes a temporary failure only if nothing else
//     rejects; a dry run lets everything pass. The Decision keeps the
//     stage's own verdict (Checked), the one given (Result), and the trace
//     of every check that ran; it is logged and counted once.
//  6. Reply (reply/wire.go, examples/gosmtp/backend.go ReplyError): the
//     Result's catalog reply is folded into wire lines (Reply.Lines) and
//     handed to go-smtp as one unwrapped *smtp.SMTPError; go-smtp writes it.
//     An accepted message goes to Config.Deliver as a gosmtp.Message, whose
//     WriteTo puts the Received line and the checks' headers (X-Greylist,
//     Received-SPF) before the data.
//
// examples/policyd takes the same path from step 3 on, with a Postfix
// policy request for the command (examples/policyd/decide.go) and a
// policy-protocol action for the reply; a go-smtp Backend of one's own
// takes it from step 3 with gosmtp.Checks.
package smtppolicy
