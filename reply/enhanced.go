package reply

// StatusInfo explains an enhanced status code from the IANA "SMTP Enhanced
// Status Codes" registry (RFC 3463, RFC 5248 and the RFCs that added codes).
// Codes are registered without their class: Subject and Detail are X.Subject.Detail.
type StatusInfo struct {
	Subject, Detail uint16
	Title           string // the registry's summary, such as "Bad destination mailbox address"
	Advice          string // what the sender should do; the class decides whether to retry
	RFC             string // the defining document
}

// Code returns the registry form, such as "X.7.23".
func (s StatusInfo) Code() string {
	return "X." + itoa(int64(s.Subject)) + "." + itoa(int64(s.Detail))
}

// LookupEnhanced returns the registry entry for e's subject and detail. An
// unregistered detail gets the subject's "other or undefined" entry
// (X.Subject.0) with ok false; a zero or unknown subject gives ok false and
// the X.0.0 entry.
func LookupEnhanced(e Enhanced) (info StatusInfo, ok bool) {
	for _, s := range enhancedCodes {
		if s.Subject == e.Subject && s.Detail == e.Detail {
			return s, !e.IsZero()
		}
	}
	for _, s := range enhancedCodes {
		if s.Subject == e.Subject && s.Detail == 0 {
			return s, false
		}
	}
	return enhancedCodes[0], false
}

// EnhancedRegistry returns every registered enhanced status code.
func EnhancedRegistry() []StatusInfo { return append([]StatusInfo(nil), enhancedCodes...) }

// ClassMeaning explains an enhanced code's class digit (RFC 3463 3.1).
func ClassMeaning(class uint8) string {
	switch class {
	case 2:
		return "Success: the action was completed."
	case 4:
		return "Persistent transient failure: the message is valid, but a temporary condition stopped it; sending later may succeed."
	case 5:
		return "Permanent failure: resending the message unchanged will not succeed; the message or the destination must change."
	}
	return "Not a valid class (only 2, 4 and 5 are defined)."
}

// enhancedCodes lists the IANA registry, X.0.0 first.
var enhancedCodes = []StatusInfo{
	{0, 0, "Other undefined status", "Read the reply text; the code says nothing more.", "RFC 3463"},
	{1, 0, "Other address status", "Something about an address is wrong; check the addresses.", "RFC 3463"},
	{1, 1, "Bad destination mailbox address", "The mailbox does not exist; correct the recipient address.", "RFC 3463"},
	{1, 2, "Bad destination system address", "The recipient's domain or host does not exist or does not take mail; check the domain part.", "RFC 3463"},
	{1, 3, "Bad destination mailbox address syntax", "The recipient address is malformed; correct it.", "RFC 3463"},
	{1, 4, "Destination mailbox address ambiguous", "The address matches several mailboxes; use a more precise address.", "RFC 3463"},
	{1, 5, "Destination address valid", "The recipient address is fine (success or informational).", "RFC 3463"},
	{1, 6, "Destination mailbox has moved, No forwarding address", "The recipient moved; find the new address by another channel.", "RFC 3463"},
	{1, 7, "Bad sender's mailbox address syntax", "The sender address is malformed; fix the sending software's configuration.", "RFC 3463"},
	{1, 8, "Bad sender's system address", "The sender's domain does not exist or cannot receive replies; fix its DNS (MX, A records).", "RFC 3463"},
	{1, 9, "Message relayed to non-compliant mailer", "Informational: the next hop does not support DSN; delivery status may be incomplete.", "RFC 3886"},
	{1, 10, "Recipient address has null MX", "The recipient's domain declares it takes no mail (RFC 7505); use another address.", "RFC 7505"},
	{2, 0, "Other or undefined mailbox status", "The mailbox exists but something stopped delivery; read the text.", "RFC 3463"},
	{2, 1, "Mailbox disabled, not accepting messages", "The mailbox is disabled or locked; contact the recipient another way.", "RFC 3463"},
	{2, 2, "Mailbox full", "The recipient must free space; a transient code is retried, a permanent one is not.", "RFC 3463"},
	{2, 3, "Message length exceeds administrative limit", "The message is too large for this mailbox; send a smaller one.", "RFC 3463"},
	{2, 4, "Mailing list expansion problem", "The list's owner must fix the list.", "RFC 3463"},
	{3, 0, "Other or undefined mail system status", "The receiving system has a problem; read the text.", "RFC 3463"},
	{3, 1, "Mail system full", "The receiving system is out of storage; retry later.", "RFC 3463"},
	{3, 2, "System not accepting network messages", "The receiving system takes no mail now (or from you); retry later if transient.", "RFC 3463"},
	{3, 3, "System not capable of selected features", "Send without the feature (an extension, 8-bit data, pipelining).", "RFC 3463"},
	{3, 4, "Message too big for system", "The message exceeds the system's size limit; send it smaller.", "RFC 3463"},
	{3, 5, "System incorrectly configured", "The receiving site must fix its configuration; retry later.", "RFC 3463"},
	{3, 6, "Requested priority was changed", "Informational: the message was accepted at another priority.", "RFC 6710"},
	{4, 0, "Other or undefined network or routing status", "A network or routing problem; retry later.", "RFC 3463"},
	{4, 1, "No answer from host", "The next hop did not answer; retry later.", "RFC 3463"},
	{4, 2, "Bad connection", "The connection failed mid-session; retry.", "RFC 3463"},
	{4, 3, "Directory server failure", "A DNS or directory lookup failed; retry later, and check DNS if it persists.", "RFC 3463"},
	{4, 4, "Unable to route", "No route to the destination (no usable MX); check the domain's DNS.", "RFC 3463"},
	{4, 5, "Mail system congestion", "The receiving system is overloaded or rate-limiting you; retry later, more slowly.", "RFC 3463"},
	{4, 6, "Routing loop detected", "The message loops between servers; fix the forwarding setup.", "RFC 3463"},
	{4, 7, "Delivery time expired", "The message sat too long in a queue; resend it if it still matters.", "RFC 3463"},
	{5, 0, "Other or undefined protocol status", "An SMTP protocol problem; check the client.", "RFC 3463"},
	{5, 1, "Invalid command", "The command is unknown or not allowed now; fix the client.", "RFC 3463"},
	{5, 2, "Syntax error", "The command is malformed; fix the client.", "RFC 3463"},
	{5, 3, "Too many recipients", "Send the remaining recipients in another transaction.", "RFC 3463"},
	{5, 4, "Invalid command arguments", "A parameter is wrong or unsupported; fix the client.", "RFC 3463"},
	{5, 5, "Wrong protocol version", "Use a protocol version the server supports.", "RFC 3463"},
	{5, 6, "Authentication Exchange line is too long", "The AUTH exchange line is over the limit; use a shorter mechanism or fix the client.", "RFC 4954"},
	{6, 0, "Other or undefined media error", "The content cannot be handled; read the text.", "RFC 3463"},
	{6, 1, "Media not supported", "Send the content in a supported format.", "RFC 3463"},
	{6, 2, "Conversion required and prohibited", "The content needs converting but conversion is forbidden; send it in a form the recipient takes.", "RFC 3463"},
	{6, 3, "Conversion required but not supported", "Send the content in a form the recipient takes (7-bit, another type).", "RFC 3463"},
	{6, 4, "Conversion with loss performed", "Informational: the content was converted with loss.", "RFC 3463"},
	{6, 5, "Conversion Failed", "Conversion of the content failed; send it in another form.", "RFC 3463"},
	{6, 6, "Message content not available", "Referenced content (BURL) could not be fetched; resend the message whole.", "RFC 4468"},
	{6, 7, "Non-ASCII addresses not permitted for that sender/recipient", "Use an ASCII address, or a path with SMTPUTF8 support.", "RFC 6531"},
	{6, 8, "UTF-8 string reply is required, but not permitted by the SMTP client", "The client must support SMTPUTF8 for this reply.", "RFC 6531"},
	{6, 9, "UTF-8 header message cannot be transferred to one or more recipients, so the message must be rejected", "Send the message with ASCII headers to recipients without SMTPUTF8.", "RFC 6531"},
	{6, 10, "Duplicate of X.6.8 (deprecated)", "Treat as X.6.8: the client must support SMTPUTF8.", "RFC 6531"},
	{7, 0, "Other or undefined security status", "A security or policy refusal; read the text for the rule.", "RFC 3463"},
	{7, 1, "Delivery not authorized, message refused", "A policy refused you (block list, access rule, relaying); read the text and fix the cause or ask the receiving postmaster.", "RFC 3463"},
	{7, 2, "Mailing list expansion prohibited", "You may not send to this list; ask its owner.", "RFC 3463"},
	{7, 3, "Security conversion required but not possible", "Send the message without the security wrapping that needs converting.", "RFC 3463"},
	{7, 4, "Security features not supported", "Send without the security feature.", "RFC 3463"},
	{7, 5, "Cryptographic failure", "A signature or encryption failed; check keys and certificates.", "RFC 3463"},
	{7, 6, "Cryptographic algorithm not supported", "Use a supported algorithm.", "RFC 3463"},
	{7, 7, "Message integrity failure", "The message was altered in transit; resend it.", "RFC 3463"},
	{7, 8, "Authentication credentials invalid", "Check the user name and password.", "RFC 4954"},
	{7, 9, "Authentication mechanism is too weak", "Use a stronger AUTH mechanism.", "RFC 4954"},
	{7, 10, "Encryption Needed", "Use TLS (STARTTLS) for this.", "RFC 5248"},
	{7, 11, "Encryption required for requested authentication mechanism", "Use STARTTLS before AUTH.", "RFC 4954"},
	{7, 12, "A password transition is needed", "Log in once with a plain mechanism to upgrade the stored password.", "RFC 4954"},
	{7, 13, "User Account Disabled", "The account is disabled; contact its administrator.", "RFC 5248"},
	{7, 14, "Trust relationship required", "The servers need a trust relationship to exchange this mail.", "RFC 5248"},
	{7, 15, "Priority Level is too low", "Resend with a higher priority, or later.", "RFC 6710"},
	{7, 16, "Message is too big for the specified priority", "Send a smaller message or use a lower priority.", "RFC 6710"},
	{7, 17, "Mailbox owner has changed", "The mailbox changed owner since the date given (RRVS); confirm the recipient.", "RFC 7293"},
	{7, 18, "Domain owner has changed", "The domain changed owner since the date given (RRVS); confirm the recipient.", "RFC 7293"},
	{7, 19, "RRVS test cannot be completed", "The receiver cannot check RRVS; resend without it.", "RFC 7293"},
	{7, 20, "No passing DKIM signature found", "Sign the message with DKIM.", "RFC 7372"},
	{7, 21, "No acceptable DKIM signature found", "Sign with a DKIM signature the receiver accepts (algorithm, key size, domain).", "RFC 7372"},
	{7, 22, "No valid author-matched DKIM signature found", "Sign with DKIM in the From: domain.", "RFC 7372"},
	{7, 23, "SPF validation failed", "The sender domain's SPF record does not list the sending IP; add it, or send through the domain's servers.", "RFC 7372"},
	{7, 24, "SPF validation error", "Evaluating the sender domain's SPF record failed (DNS error or broken record); fix the record or retry if transient.", "RFC 7372"},
	{7, 25, "Reverse DNS validation failed", "The sending IP's PTR record is missing or does not match; fix reverse DNS.", "RFC 7372"},
	{7, 26, "Multiple authentication checks failed", "Several checks (SPF, DKIM, DMARC, reverse DNS) failed; fix the sender's authentication.", "RFC 7372"},
	{7, 27, "Sender address has null MX", "The sender's domain declares it takes no mail (RFC 7505), so it may not send; publish a real MX.", "RFC 7505"},
	{7, 28, "Mail flood detected", "Too many similar messages; slow down and check for a compromised account.", "IANA registry"},
	{7, 29, "ARC validation failure", "The ARC chain does not validate; check the forwarding intermediaries.", "RFC 8617"},
	{7, 30, "REQUIRETLS support required", "The next hop lacks REQUIRETLS; the message cannot go on with its TLS requirement.", "RFC 8689"},
}
