package reply

// The replies of postscreen(8)'s tests, with postscreen's texts.
var (
	// ProtocolErrorDrop is 521 5.5.1 for a client that failed a postscreen protocol test under drop (postfix).
	entryProtocolErrorDrop = newEntry("ProtocolErrorDrop", 521, "5.5.1",
		"Protocol error", nil,
		"The client failed one of postscreen's protocol tests (bare newline, pipelining without PIPELINING) under the drop action, and the server hung up. Spam software on the SMTP port; a real mail server that trips it needs an access-list permit.",
		"postfix")
	// ProtocolErrorEnforce is 550 5.5.1 for each recipient of a client that failed a postscreen protocol test under enforce (postfix).
	entryProtocolErrorEnforce = newEntry("ProtocolErrorEnforce", 550, "5.5.1",
		"Protocol error", nil,
		"The client failed one of postscreen's protocol tests (bare newline, non-SMTP command, pipelining without PIPELINING) under the enforce action: every recipient is refused, so the log names sender and recipients. A real mail server that trips it needs an access-list permit.",
		"postfix")
	// NonSMTPCommandDrop is 521 5.7.0 for a client dropped by postscreen's non-SMTP command test (postfix).
	entryNonSMTPCommandDrop = newEntry("NonSMTPCommandDrop", 521, "5.7.0",
		"Error: I can break rules, too. Goodbye.", nil,
		"The client sent a command that is no SMTP (an HTTP request, CONNECT, a header line) and postscreen's non-SMTP command test hung up. A web client or proxy abuse on the SMTP port, not a mail server.",
		"postfix")
	// ReconnectAfterTests is 450 4.3.2 at RCPT for a client that passed postscreen's deep tests and must reconnect (postfix).
	entryReconnectAfterTests = newEntry("ReconnectAfterTests", 450, "4.3.2",
		"Service currently unavailable", nil,
		"The client passed postscreen's protocol tests after the greeting; as postscreen requires, it must reconnect to send mail. A real server retries at once and is let through, since its pass is remembered.",
		"postfix")
	// PostscreenDenylisted is 521 5.3.2 for a client that postscreen_access_list rejects (postfix).
	entryPostscreenDenylisted = newEntry("PostscreenDenylisted", 521, "5.3.2",
		"Service currently unavailable", nil,
		"postscreen_access_list (a cidr: table entry reject) denies the client, and the server hangs up before the greeting. Change the table if the client should be allowed.",
		"postfix")
	// PostscreenDenylistedEnforce is 550 5.3.2 for each recipient of a client that postscreen_access_list rejects under postscreen_denylist_action enforce (postfix).
	entryPostscreenDenylistedEnforce = newEntry("PostscreenDenylistedEnforce", 550, "5.3.2",
		"Service currently unavailable", nil,
		"postscreen_access_list denies the client and postscreen_denylist_action is enforce: the session goes on and every recipient is refused, so the log names sender and recipients. Change the table if the client should be allowed.",
		"postfix")
	// PostscreenDNSBLDrop is 521 5.7.1 for a client whose postscreen_dnsbl_sites score reaches postscreen_dnsbl_threshold under postscreen_dnsbl_action drop (postfix).
	entryPostscreenDNSBLDrop = newEntry("PostscreenDNSBLDrop", 521, "5.7.1",
		"Service unavailable; client [{ip}] blocked using {zone}", []Param{pIP, pZone},
		"The DNS lists of postscreen_dnsbl_sites list the client with a combined weight at or above postscreen_dnsbl_threshold, and the server hung up. Look the address up on the list named; an access-list permit lets a trusted client in.",
		"postfix")
	// PostscreenDNSBLEnforce is 550 5.7.1 for each recipient of a client whose postscreen_dnsbl_sites score reaches postscreen_dnsbl_threshold under postscreen_dnsbl_action enforce (postfix).
	entryPostscreenDNSBLEnforce = newEntry("PostscreenDNSBLEnforce", 550, "5.7.1",
		"Service unavailable; client [{ip}] blocked using {zone}", []Param{pIP, pZone},
		"The DNS lists of postscreen_dnsbl_sites list the client with a combined weight at or above postscreen_dnsbl_threshold; under the enforce action every recipient is refused, so the log names sender and recipients. Look the address up on the list named.",
		"postfix")
)
