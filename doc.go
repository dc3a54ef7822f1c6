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
//   - access and uri: smtpf and Postfix access maps with per-client limits;
//     the hosts a message links to, checked against URI lists.
//   - postconf: a policy written in Postfix's words, main.cf restriction
//     lists and the parameters that shape them, built on the checks above.
//   - examples: the adapters. examples/gosmtp turns a policy into a go-smtp
//     Backend; examples/smtpd is a ready SMTP server; examples/policyd offers
//     the checks to Postfix as a policy service; examples/explain explains a
//     reply pasted from a bounce.
package smtppolicy
