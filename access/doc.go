// Package access is the smtpf-style access map: lines of "tag:key value"
// that allowlist, refuse, tag or quarantine by client, HELO, sender and
// recipient, with the rate, size and concurrency limits of its numeric tags
// counted in a shared store (so MX hosts behind one Redis share them).
//
// Lookups go from most to least specific and the first key that exists wins,
// even when it says SKIP: a "From:example.com SKIP" stops a broader
// "From:com REJECT". Stages follow smtpf: Connect: at connect; the
// Connect:From: combo then From: at MAIL; the Connect:To: and From:To:
// combos then To: at RCPT; a stage without a hit keeps the previous stage's
// state, and at DATA one allowlisted recipient allowlists the message.
//
// A Map is immutable and compact (one string arena, interned values), so a
// million-entry map loads in about a second; Access serves one with atomic
// reloads that never leave half a map behind. Postfix access(5) tables
// (hash:, cidr:, regexp:/pcre:) live in the postfix subpackage.
package access
