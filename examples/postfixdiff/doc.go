// Package postfixdiff holds the differential test of the policy engine
// against a real Postfix 3.7: the same main.cf is served by a private
// Postfix (postconf/postfixtest, in a network namespace whose DNS is the
// test's) and by examples/smtpd -config, the same generated SMTP sessions
// are driven through both, and every command's reply code, enhanced code
// and verdict are compared. Differences that are understood are listed,
// each with its reason, in knownExceptions; any other difference fails the
// test. A third side is policyd behind Postfix: a second listener of the
// instance hands its restriction lists to examples/policyd -config on the
// same main.cf with check_policy_service, and is compared with Postfix's
// own answers the same way (policydExceptions).
package postfixdiff
