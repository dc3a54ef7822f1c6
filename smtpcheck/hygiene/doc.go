// Package hygiene holds the protocol-hygiene checks of an SMTP policy: the
// tests that smtpf, Postfix and Haraka's helo.checks apply to the HELO name,
// the client's reverse DNS, the envelope, the message header and the way the
// client speaks SMTP. Each check is a constructor taking a Config whose zero
// value is what an experienced administrator would choose, and returns a
// smtpcheck.Check answering with a reply from the catalog in package reply.
//
// Checks that need DNS take a *resolver.Resolver in their Config and do
// nothing (Continue) when it is nil, so a program without network access can
// build the same policy. Default returns the checks worth turning on
// everywhere that need no network at all.
//
// Every refusal carries a Reason whose Check is the check's name (such as
// "helo-fqdn") and whose Rule names the smtpf option or Postfix restriction
// it mirrors, so logs explain themselves.
package hygiene
