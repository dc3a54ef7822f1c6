package reply

// Replies of the hygiene checks that the source lists lack (ref
// "smtppolicy"), worded after their smtpf neighbours.

var (
	// HeloUnknownTLD is 550 5.7.0 for a HELO name in a top-level domain that
	// does not exist.
	entryHeloUnknownTLD = newEntry("HeloUnknownTLD", 550, "5.7.0",
		"HELO {helo} from unknown TLD", []Param{pHelo},
		"The HELO name ends in a top-level domain that does not exist, so it cannot be the client's real name (RFC 5321 4.1.1.1 asks for the client's fully-qualified domain name). The client's operator must set a proper host name; update the list of known TLDs if a new one was just delegated.",
		"smtppolicy")
	// DuplicateHeader is 554 5.6.0 for a header field given more than once
	// that RFC 5322 allows once.
	entryDuplicateHeader = newEntry("DuplicateHeader", 554, "5.6.0",
		"duplicate {field}: header; RFC 5322 section 3.6", []Param{{"field", KindWord}},
		"The message has a header field more than once that RFC 5322 3.6 allows only once (Date, From, Sender, Reply-To, To, Cc, Bcc, Message-ID, In-Reply-To, References, Subject). Mail clients show such messages inconsistently, which spoofing exploits. The sending software must write each field once.",
		"smtppolicy")
)
