package reply

// Replies of the message authentication checks (DKIM, RFC 6376; DMARC,
// RFC 7489) that the source lists lack (ref "smtppolicy"). The enhanced
// codes are RFC 7372's where it has one.

var (
	// DKIMFail is 550 5.7.20 for a message without a passing DKIM signature
	// when the local policy requires one.
	entryDKIMFail = newEntry("DKIMFail", 550, "5.7.20",
		"no passing DKIM signature for {domain}: {reason}", []Param{pDomain, pReason},
		"The local policy refuses messages without a DKIM signature that verifies (RFC 6376; RFC 7372 X.7.20): the body or signed header fields were changed after signing, the signature is broken, or there is none. The signer must fix its signing; a forwarder that alters messages must re-sign them.",
		"smtppolicy")
	// DKIMTempError is 451 4.7.20 for a DKIM key lookup that failed temporarily.
	entryDKIMTempError = newEntry("DKIMTempError", 451, "4.7.20",
		"DKIM key for {domain} temporarily unavailable: {reason}", []Param{pDomain, pReason},
		"Verifying the DKIM signature needed the signer's public key from DNS, and the lookup failed temporarily (RFC 6376 temperror). The client retries; if it persists, check the signer's name servers and this server's resolver.",
		"smtppolicy")
	// DMARCReject is 550 5.7.1 for a message its From: domain's DMARC policy
	// (p=reject) refuses.
	entryDMARCReject = newEntry("DMARCReject", 550, "5.7.1",
		"message refused: DMARC policy of {domain} says reject ({reason})", []Param{pDomain, pReason},
		"The From: domain publishes a DMARC policy of p=reject (RFC 7489 6.3), and neither an aligned DKIM signature nor an aligned SPF pass authenticated the message: forged, or sent through a service the domain did not authorise. The domain's owner must sign the mail it sends, or list the service in SPF with an aligned envelope sender.",
		"smtppolicy")
	// DMARCTempError is 451 4.7.1 for a DMARC evaluation that hit a temporary
	// DNS failure.
	entryDMARCTempError = newEntry("DMARCTempError", 451, "4.7.1",
		"DMARC evaluation for {domain} failed temporarily: {reason}", []Param{pDomain, pReason},
		"The DMARC policy or a DKIM key of the From: domain could not be fetched from DNS (RFC 7489 temperror), so the message could not be authenticated. The client retries; if it persists, check the domain's name servers and this server's resolver.",
		"smtppolicy")
)
