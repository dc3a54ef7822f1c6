package reply

// Greylisting replies. The wait is in the text so that a person reading a
// delayed-delivery notice knows the delay is deliberate and short.
var (
	entryGreylisted = newEntry("Greylisted", 451, "4.7.1",
		"greylisted, try again in {wait} seconds", []Param{pWait},
		"Greylisting (the postgrey technique): the client, sender and recipient were not seen together before (or the retry came too early), so the server asks the client to retry later; a real mail server retries (RFC 5321 4.5.4.1) and is accepted after the delay. Allowlist the client or its domain if it is a large sender that retries from other addresses.",
		"smtppolicy")
	entryGreylistedExchange = newEntry("GreylistedExchange", 451, "4.2.0",
		"greylisted, try again in {wait} seconds", []Param{pWait},
		"The same greylisting reply with enhanced code 4.2.0, for Microsoft Exchange peers that treat 4.7.1 as a final refusal and do not retry.",
		"smtppolicy")
)

// Greylisted is 451 4.7.1 for a greylisted attempt; seconds is how long
// until a retry is accepted.
func Greylisted(seconds int) Reply { return entryGreylisted.Reply(itoa(int64(seconds))) }

// GreylistedExchange is Greylisted with enhanced code 4.2.0, which Exchange
// servers retry where they would give up on 4.7.1.
func GreylistedExchange(seconds int) Reply {
	return entryGreylistedExchange.Reply(itoa(int64(seconds)))
}
