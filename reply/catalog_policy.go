package reply

// Replies this product's checks need that the source lists lack (ref
// "smtppolicy"); each explanation names the RFC behind it.

var (
	// SPFFail is 550 5.7.23 for a sender whose domain's SPF record does not
	// permit the client IP (RFC 7208 fail, RFC 7372).
	entrySPFFail = newEntry("SPFFail", 550, "5.7.23",
		"SPF check failed: {domain} does not designate [{ip}] as a permitted sender", []Param{pDomain, pIP},
		"The sender domain's SPF record (RFC 7208) says this client IP may not send its mail: forged, or the domain forgot one of its outgoing servers. The domain's owner must add the server to the SPF record; forwarders must rewrite the sender (SRS).",
		"smtppolicy")
	// SPFTempError is 451 4.7.24 for an SPF evaluation that hit a temporary DNS error.
	entrySPFTempError = newEntry("SPFTempError", 451, "4.7.24",
		"SPF temporary error for {domain}: {reason}", []Param{pDomain, pReason},
		"Evaluating the sender domain's SPF record hit a temporary DNS error (RFC 7208 temperror, RFC 7372 X.7.24). The client retries; if it persists, check the domain's name servers and this server's resolver.",
		"smtppolicy")
	// SPFPermError is 550 5.7.24 for a broken SPF record.
	entrySPFPermError = newEntry("SPFPermError", 550, "5.7.24",
		"SPF permanent error for {domain}: {reason}", []Param{pDomain, pReason},
		"The sender domain's SPF record is broken (RFC 7208 permerror: a syntax error, more than 10 DNS lookups, several records). The domain's owner must fix the record; check it with an SPF validator.",
		"smtppolicy")
	// DNSBLTempFail is 451 4.7.1 when a DNS block list cannot be queried for ip.
	entryDNSBLTempFail = newEntry("DNSBLTempFail", 451, "4.7.1",
		"DNS list {zone} temporarily unavailable for [{ip}], try again later", []Param{pZone, pIP},
		"The DNS block list could not be queried (timeout, SERVFAIL) and the policy defers rather than accept unchecked (RFC 5782 lists are DNS zones). The client retries; check the resolver and whether the zone still works.",
		"smtppolicy")
	// BareLineEnding is 550 5.5.2 for a bare LF or CR in the message (SMTP smuggling guard).
	entryBareLineEnding = newEntry("BareLineEnding", 550, "5.5.2",
		"bare LF / bare CR in message; see RFC 5321 2.3.8", nil,
		"The message holds a LF or CR that is not part of a CRLF pair. RFC 5321 2.3.8 forbids them, and servers that read them differently can be tricked into SMTP smuggling. The sending software must end every line with CRLF.",
		"smtppolicy")
	// TempRejected is 451 4.7.1 with a rule's own reason as the whole text (an
	// access map DEFER with custom text).
	entryTempRejected = newEntry("TempRejected", 451, "4.7.1",
		"{reason}", []Param{pReason},
		"A policy deferred the message with its own text (an access map DEFER with custom text). The client retries; read the text for the rule.",
		"smtppolicy")
)
