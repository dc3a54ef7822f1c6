package reply

// Replies from the Postfix SMTP server's list (ref "postfix"). Lines that
// differ only in an address, host or detail share one template; lines with
// other codes are separate entries, or variants where an access map chose the
// enhanced code.

var (
	entryStartTLSReady = newEntry("StartTLSReady", 220, "2.0.0",
		"Ready to start TLS", nil,
		"The server accepted STARTTLS; the TLS handshake follows.",
		"postfix")
	entryBye = newEntry("Bye", 221, "2.0.0",
		"Bye", nil,
		"The answer to QUIT; the server closes the connection.",
		"postfix")
	entryAuthSuccessful = newEntry("AuthSuccessful", 235, "2.7.0",
		"Authentication successful", nil,
		"The client authenticated; its mail is treated as a trusted user's.",
		"postfix")
	entryQueuedBytes = newEntry("QueuedBytes", 250, "2.0.0",
		"Ok: {size} bytes queued as {id}", []Param{{"size", KindNumber}, pID},
		"The message (BDAT) was accepted and queued under the ID given; search the mail log for the ID to follow it.",
		"postfix")
	entryQueued = newEntry("Queued", 250, "2.0.0",
		"Ok: queued as {id}", []Param{pID},
		"The message was accepted and queued under the ID given; search the mail log for the ID to follow it.",
		"postfix")
	entryMailOk = newEntry("MailOk", 250, "2.1.0",
		"Ok", nil,
		"MAIL FROM was accepted; the client goes on with RCPT TO. Nothing to do.",
		"postfix")
	entryRcptOk = newEntry("RcptOk", 250, "2.1.5",
		"Ok", nil,
		"RCPT TO was accepted; the client adds more recipients or goes on with DATA. Nothing to do.",
		"postfix")
	entryLocalDataError = newEntry("LocalDataError", 421, "4.3.0",
		"Server local data error", nil,
		"The server could not read its own data (a lookup table or the queue) and closes the connection. Clients retry; check the mail log for the table or file at fault.",
		"postfix")
	entryLocalError = newEntry("LocalError", 421, "4.3.0",
		"Server local error", nil,
		"The server hit an internal error and closes the connection. Clients retry; check the mail log.",
		"postfix")
	entryScreeningPortsBusy = newEntry("ScreeningPortsBusy", 421, "4.3.2",
		"All screening ports are busy", nil,
		"The connection screener (postscreen) has no free slot. Clients retry; raise the screener's connection limit if this is frequent.",
		"postfix")
	entryServerPortsBusy = newEntry("ServerPortsBusy", 421, "4.3.2",
		"All server ports are busy", nil,
		"Every SMTP server process is busy. Clients retry; raise the process limit if this is frequent.",
		"postfix")
	entryNoSystemResources = newEntry("NoSystemResources", 421, "4.3.2",
		"No system resources", nil,
		"The server ran out of a system resource (processes, memory, file handles). Clients retry; free the resource.",
		"postfix")
	entryServerConfigErrorClosing = newEntry("ServerConfigErrorClosing", 421, "4.3.5",
		"Server configuration error", nil,
		"A configuration error stops the server from working; it closes the connection. Clients retry; the mail log names the setting at fault.",
		"postfix")
	// TimeoutExceeded is 421 4.4.2 for an idle client (postfix).
	entryTimeoutExceeded = newEntry("TimeoutExceeded", 421, "4.4.2",
		"Error: timeout exceeded", nil,
		"The client was idle longer than the server's command timeout. A slow or stuck client; it retries.",
		"postfix")
	entryTooManyConnectionsFrom = newEntry("TooManyConnectionsFrom", 421, "4.7.0",
		"Error: too many connections from {client}", []Param{pClient},
		"The client opened more connections (at once, or per time unit) than the anvil limits allow. It retries later; raise the limit or exempt the client if it is a trusted busy server.",
		"postfix")
	// TooManyErrors is 421 4.7.0 for a client over the error limit (postfix).
	entryTooManyErrors = newEntry("TooManyErrors", 421, "4.7.0",
		"Error: too many errors", nil,
		"The client made more protocol errors (unknown commands, rejected recipients) than the hard error limit; the server hangs up. Typical of address harvesting or a broken client.",
		"postfix", "smtppolicy")
	entryTooManyTLSSessionsClosing = newEntry("TooManyTLSSessionsClosing", 421, "4.7.0",
		"Error: too many new TLS sessions from {client}", []Param{pClient},
		"The client negotiated more new TLS sessions per time unit than allowed (a CPU exhaustion guard), and the server hangs up. It retries; raise the limit if legitimate.",
		"postfix")
	entryTooManyConnections = newEntry("TooManyConnections", 421, "4.7.0",
		"Error: too many connections", nil,
		"The server has reached its connection limit. Clients retry later.",
		"postfix")
	entryServerClosing = newEntry("ServerClosing", 421, "4.7.0",
		"Server closing connection", nil,
		"The server ends the session early, after a policy decision or a shutdown. The client retries.",
		"postfix")
	entryHeloTryAgainLater = newEntry("HeloTryAgainLater", 444, "4.3.2",
		"<{helo}>: Helo command rejected: Try again later", []Param{pHelo},
		"A HELO restriction answered with a temporary refusal (a non-standard 444 code). The client retries; check the HELO restriction for a DEFER action.",
		"postfix")
	// RecipientDomainNotFoundTemp is 450 4.1.2 for a recipient domain without DNS records (postfix).
	entryRecipientDomainNotFoundTemp = newEntry("RecipientDomainNotFoundTemp", 450, "4.1.2",
		"<{rcpt}>: Recipient address rejected: Domain not found", []Param{pRcpt},
		"The recipient's domain has no DNS records yet (or the lookup failed). Temporary: the client retries, and the sender should check the address.",
		"postfix")
	// SenderDomainNotFoundTemp is 450 4.1.8 for a sender domain without DNS records (postfix).
	entrySenderDomainNotFoundTemp = newEntry("SenderDomainNotFoundTemp", 450, "4.1.8",
		"<{sender}>: Sender address rejected: Domain not found", []Param{pSender},
		"The sender's domain has no A, AAAA or MX record (reject_unknown_sender_domain), so a bounce could not reach it; the refusal is temporary in case DNS was failing. The sender's domain must publish DNS records.",
		"postfix")
	entryCommandFailedTemp = newEntry("CommandFailedTemp", 450, "4.3.0",
		"Error: command failed", nil,
		"A command failed temporarily inside the server. The client retries; check the mail log.",
		"postfix")
	// HeloHostNotFound is 450 4.7.1 for a HELO name that does not resolve (postfix).
	entryHeloHostNotFound = newEntry("HeloHostNotFound", 450, "4.7.1",
		"<{helo}>: Helo command rejected: Host not found", []Param{pHelo},
		"The HELO name has no A or MX record (reject_unknown_helo_hostname). The client's operator must give it a resolvable name; the refusal is temporary in case DNS was failing.",
		"postfix")
	// ClientNoHostnameTemp is 450 4.7.1 for a client without valid reverse DNS (postfix).
	entryClientNoHostnameTemp = newEntry("ClientNoHostnameTemp", 450, "4.7.1",
		"Client host rejected: cannot find your hostname, [{ip}]", []Param{pIP},
		"The client's IP has no PTR record, or the PTR name does not resolve back to the IP (reject_unknown_client_hostname); temporary in case DNS was failing. The client's operator must fix reverse DNS.",
		"postfix")
	entryTooManyAuth = newEntry("TooManyAuth", 450, "4.7.1",
		"Error: too many AUTH commands from {client}", []Param{pClient},
		"The client sent more AUTH commands per time unit than allowed: password guessing, or a client with a wrong password retrying. Check the credentials.",
		"postfix")
	entryRecipientRateFrom = newEntry("RecipientRateFrom", 450, "4.7.1",
		"Error: too many recipients from {client}", []Param{pClient},
		"The client sent to more recipients per time unit than the rate limit allows. It retries later; raise the limit for trusted bulk senders.",
		"postfix")
	entryMessageRateFrom = newEntry("MessageRateFrom", 450, "4.7.1",
		"Error: too much mail from {client}", []Param{pClient},
		"The client sent more messages per time unit than the rate limit allows. It retries later; raise the limit for trusted bulk senders.",
		"postfix")
	// TemporaryLookupFailure is 451 4.3.0 when a lookup table for addr fails (postfix).
	entryTemporaryLookupFailure = newEntry("TemporaryLookupFailure", 451, "4.3.0",
		"<{addr}>: Temporary lookup failure", []Param{{"addr", KindAddress}},
		"A lookup table (LDAP, SQL, a map) needed to decide about the address did not answer. Clients retry; check the table's server.",
		"postfix")
	entryQueueWriteError = newEntry("QueueWriteError", 451, "4.3.0",
		"Queue file write error", nil,
		"The server could not write the message to its queue (disk full, permissions, a content filter failing). Clients retry; check disk space and the mail log.",
		"postfix")
	entryTemporaryLookupError = newEntry("TemporaryLookupError", 451, "4.3.0",
		"Temporary lookup error", nil,
		"A lookup table did not answer. Clients retry; check the table's server.",
		"postfix")
	entrySenderConfigError = newEntry("SenderConfigError", 451, "4.3.5",
		"<{sender}>: Sender address rejected: Server configuration error", []Param{pSender},
		"A sender restriction is misconfigured (an unknown restriction name, a missing table). Clients retry; the mail log names the setting.",
		"postfix")
	entryClientConfigError = newEntry("ClientConfigError", 451, "4.3.5",
		"<{client}>: Client host rejected: Server configuration error", []Param{pClient},
		"A client restriction is misconfigured. Clients retry; the mail log names the setting.",
		"postfix")
	entryHeloConfigError = newEntry("HeloConfigError", 451, "4.3.5",
		"<{helo}>: Helo command rejected: Server configuration error", []Param{pHelo},
		"A HELO restriction is misconfigured. Clients retry; the mail log names the setting.",
		"postfix")
	entryRecipientConfigError = newEntry("RecipientConfigError", 451, "4.3.5",
		"<{rcpt}>: Recipient address rejected: Server configuration error", []Param{pRcpt},
		"A recipient restriction is misconfigured. Clients retry; the mail log names the setting.",
		"postfix")
	entryServerConfigError = newEntry("ServerConfigError", 451, "4.3.5",
		"Server configuration error", nil,
		"A configuration error stops the server from accepting the message. Clients retry; the mail log names the setting.",
		"postfix")
	entryServerConfigProblem = newEntry("ServerConfigProblem", 451, "4.3.5",
		"Server configuration problem", nil,
		"A configuration problem (often a content filter or milter that cannot be reached) stops the server from accepting the message. Clients retry; check the mail log.",
		"postfix")
	entryServiceUnavailableTryLater = newEntry("ServiceUnavailableTryLater", 451, "4.7.1",
		"Service unavailable - try again later", nil,
		"A policy service or content filter asked for a temporary refusal (a DEFER action). Clients retry.",
		"postfix")
	// TooManyRecipients is 452 4.5.3 for a recipient over the per-message limit (postfix).
	entryTooManyRecipients = newEntry("TooManyRecipients", 452, "4.5.3",
		"Error: too many recipients", nil,
		"The message has more recipients than the per-message limit. RFC 5321 3.3 clients send the rest in another transaction; nothing is lost.",
		"postfix", "smtppolicy")
	entryTemporaryFailure = newEntry("TemporaryFailure", 454, "4.3.0",
		"Try again later", nil,
		"A temporary failure inside the server (often a content filter or milter). Clients retry; check the mail log.",
		"postfix")
	entryTooManyTLSSessions = newEntry("TooManyTLSSessions", 454, "4.7.0",
		"Error: too many new TLS sessions from {client}", []Param{pClient},
		"The client negotiated more new TLS sessions per time unit than allowed. It retries; raise the limit if legitimate.",
		"postfix")
	entryAuthTempFailure = newEntry("AuthTempFailure", 454, "4.7.0",
		"Temporary authentication failure: {detail}", []Param{pDetail},
		"The authentication backend (SASL server) did not answer. Clients retry; check the SASL service.",
		"postfix")
	entryTLSUnavailable = newEntry("TLSUnavailable", 454, "4.7.0",
		"TLS not available due to local problem", nil,
		"STARTTLS is offered but cannot start (missing or unreadable key or certificate). Fix the TLS configuration; clients may send without TLS or retry.",
		"postfix")
	entryCommandFailed = newEntry("CommandFailed", 500, "5.3.0",
		"Error: command failed", nil,
		"A command failed permanently inside the server. Check the mail log.",
		"postfix")
	entryBadSyntax = newEntry("BadSyntax", 500, "5.5.2",
		"Error: bad syntax", nil,
		"The command line could not be parsed. The client is broken.",
		"postfix")
	entryBadUTF8 = newEntry("BadUTF8", 500, "5.5.2",
		"Error: bad UTF-8 syntax", nil,
		"The command holds invalid UTF-8 (RFC 6531). The client is broken.",
		"postfix")
	entrySASLResponseTooLong = newEntry("SASLResponseTooLong", 500, "5.5.6",
		"SASL response limit exceeded", nil,
		"An AUTH response line was longer than allowed (RFC 4954 X.5.6). The client is broken or hostile.",
		"postfix")
	entryBadRecipientSyntax = newEntry("BadRecipientSyntax", 501, "5.1.3",
		"Bad recipient address syntax", nil,
		"The RCPT TO address is not a valid address. The sender must correct it.",
		"postfix")
	entryBadSenderSyntax = newEntry("BadSenderSyntax", 501, "5.1.7",
		"Bad sender address syntax", nil,
		"The MAIL FROM address is not a valid address. The sending software is broken.",
		"postfix")
	// HeloInvalidIP is 501 5.5.2 for a HELO address literal with an invalid IP (postfix).
	entryHeloInvalidIP = newEntry("HeloInvalidIP", 501, "5.5.2",
		"<{helo}>: Helo command rejected: invalid ip address", []Param{pHelo},
		"The HELO argument is an address literal holding an invalid IP address. The client's operator must fix its HELO name.",
		"postfix")
	entryBadAttributeName = newEntry("BadAttributeName", 501, "5.5.4",
		"Bad {command} attribute name: {name}", []Param{pCommand, {"name", KindText}},
		"The command carries an ESMTP parameter this server does not know. The client uses an extension not offered in the EHLO reply.",
		"postfix")
	entryBadENVID = newEntry("BadENVID", 501, "5.5.4",
		"Bad ENVID parameter syntax", nil,
		"The DSN ENVID parameter of MAIL FROM is malformed (RFC 3461). The client is broken.",
		"postfix")
	entryBadSizeSyntax = newEntry("BadSizeSyntax", 501, "5.5.4",
		"Bad message size syntax", nil,
		"The SIZE parameter of MAIL FROM is not a number (RFC 1870). The client is broken.",
		"postfix")
	entryBadRET = newEntry("BadRET", 501, "5.5.4",
		"Bad RET parameter syntax", nil,
		"The DSN RET parameter is neither FULL nor HDRS (RFC 3461). The client is broken.",
		"postfix")
	entryAttributeTooLong = newEntry("AttributeTooLong", 501, "5.5.4",
		"Error: attribute value too long", nil,
		"An ESMTP parameter value is over the length limit. The client is broken or hostile.",
		"postfix")
	entryAttributeExpected = newEntry("AttributeExpected", 501, "5.5.4",
		"Error: attribute=value expected", nil,
		"An ESMTP parameter is not in name=value form. The client is broken.",
		"postfix")
	entryBadNOTIFY = newEntry("BadNOTIFY", 501, "5.5.4",
		"Error: Bad NOTIFY parameter syntax", nil,
		"The DSN NOTIFY parameter of RCPT TO is malformed (RFC 3461). The client is broken.",
		"postfix")
	entryBadORCPT = newEntry("BadORCPT", 501, "5.5.4",
		"Error: Bad ORCPT parameter syntax", nil,
		"The DSN ORCPT parameter of RCPT TO is malformed (RFC 3461). The client is broken.",
		"postfix")
	entryCommandSyntax = newEntry("CommandSyntax", 501, "5.5.4",
		"Syntax: {usage}", []Param{{"usage", KindText}},
		"The command's arguments are wrong; the text shows the correct form. The client is broken.",
		"postfix")
	entryAuthAborted = newEntry("AuthAborted", 501, "5.7.0",
		"Authentication aborted", nil,
		"The client cancelled an AUTH exchange. Nothing to change; the client may retry.",
		"postfix", "barracuda:5XX_AUTH_ABORT")
	entryDSNDisabled = newEntry("DSNDisabled", 501, "5.7.1",
		"DSN support is disabled", nil,
		"The client used a DSN parameter (NOTIFY, RET, ENVID, ORCPT) but DSN is not offered to it. Enable DSN for the client if it needs delivery notifications.",
		"postfix")
	entryCommandNotImplemented = newEntry("CommandNotImplemented", 502, "5.5.1",
		"Error: command not implemented", nil,
		"The command is not supported here. The client must do without it.",
		"postfix")
	entryVRFYDisabled = newEntry("VRFYDisabled", 502, "5.5.1",
		"VRFY command is disabled", nil,
		"VRFY is turned off to stop address harvesting. Nothing to do.",
		"postfix")
	entryCommandNotRecognized = newEntry("CommandNotRecognized", 502, "5.5.2",
		"Error: command not recognized", nil,
		"The client sent something that is not an SMTP command. Often a non-SMTP client (a web browser, a scanner).",
		"postfix")
	entryAuthNotEnabled = newEntry("AuthNotEnabled", 503, "5.5.1",
		"Error: authentication not enabled", nil,
		"The client tried AUTH but authentication is not offered here. Enable SASL if clients are meant to authenticate.",
		"postfix")
	entryDataAfterBDAT = newEntry("DataAfterBDAT", 503, "5.5.1",
		"Error: DATA after BDAT", nil,
		"The client mixed DATA and BDAT in one transaction, which RFC 3030 forbids. The client is broken.",
		"postfix")
	entryMailAfterBDAT = newEntry("MailAfterBDAT", 503, "5.5.1",
		"Error: MAIL after BDAT", nil,
		"The client started a new transaction before finishing BDAT with LAST. The client is broken.",
		"postfix")
	entryMailInProgress = newEntry("MailInProgress", 503, "5.5.1",
		"Error: MAIL transaction in progress", nil,
		"The client sent a command not allowed inside a transaction (such as AUTH or STARTTLS after MAIL). The client is broken.",
		"postfix")
	entryNeedMail = newEntry("NeedMail", 503, "5.5.1",
		"Error: need MAIL command", nil,
		"The client sent RCPT or DATA before MAIL FROM. The client is broken or pipelining wrongly.",
		"postfix")
	entryNeedRcpt = newEntry("NeedRcpt", 503, "5.5.1",
		"Error: need RCPT command", nil,
		"The client sent DATA before any RCPT TO. The client is broken or pipelining wrongly.",
		"postfix")
	entryNestedMail = newEntry("NestedMail", 503, "5.5.1",
		"Error: nested MAIL command", nil,
		"The client sent a second MAIL FROM inside a transaction. The client is broken.",
		"postfix")
	entryRcptAfterBDAT = newEntry("RcptAfterBDAT", 503, "5.5.1",
		"Error: RCPT after BDAT", nil,
		"The client added a recipient after starting BDAT. The client is broken.",
		"postfix")
	// NeedHelo is 503 5.5.1 for MAIL before HELO/EHLO (postfix).
	entryNeedHelo = newEntry("NeedHelo", 503, "5.5.1",
		"Error: send HELO/EHLO first", nil,
		"The client sent MAIL before HELO or EHLO, which is required here. Typical of spam software; a real client greets first.",
		"postfix", "barracuda:5XX_MISSING_EHLO")
	entryMultipleAuthParams = newEntry("MultipleAuthParams", 503, "5.5.4",
		"Error: multiple AUTH= options", nil,
		"MAIL FROM carried the AUTH= parameter twice. The client is broken.",
		"postfix")
	entryNeedAuth = newEntry("NeedAuth", 503, "5.5.4",
		"Error: send AUTH command first", nil,
		"This server requires authentication before MAIL. Configure the client with credentials.",
		"postfix")
	entryAccessDeniedFor = newEntry("AccessDeniedFor", 503, "5.7.0",
		"Error: access denied for {who}", []Param{{"who", KindText}},
		"The command is not allowed for this client or user (an ETRN or authorization restriction). Change the restriction if it should be allowed.",
		"postfix")
	// RecipientNotFQDN is 504 5.5.2 for a recipient without a full domain (postfix).
	entryRecipientNotFQDN = newEntry("RecipientNotFQDN", 504, "5.5.2",
		"<{rcpt}>: Recipient address rejected: need fully-qualified address", []Param{pRcpt},
		"The recipient address has no domain or a domain without dots (reject_non_fqdn_recipient). The sender must write the full address.",
		"postfix")
	// SenderNotFQDN is 504 5.5.2 for a sender without a full domain (postfix).
	entrySenderNotFQDN = newEntry("SenderNotFQDN", 504, "5.5.2",
		"<{sender}>: Sender address rejected: need fully-qualified address", []Param{pSender},
		"The sender address has no domain or a domain without dots (reject_non_fqdn_sender): bounces could not reach it. The sending software must use a full address.",
		"postfix")
	// HeloNeedFQDN is 504 5.5.2 for a HELO name that is not fully qualified (postfix).
	entryHeloNeedFQDN = newEntry("HeloNeedFQDN", 504, "5.5.2",
		"<{helo}>: Helo command rejected: need fully-qualified hostname", []Param{pHelo},
		"The HELO name is not a fully-qualified domain name (reject_non_fqdn_helo_hostname), as RFC 5321 4.1.1.1 requires. The client's operator must set its real name.",
		"postfix")
	entryAuthNeedsEncryption = newEntry("AuthNeedsEncryption", 504, "5.5.4",
		"Encryption required for requested authentication mechanism", nil,
		"The client tried a plain-text AUTH mechanism without TLS. Configure it to use STARTTLS first.",
		"postfix", "barracuda:5XX_AUTH_REQUIRES_TLS").alt("Error: encryption required for requested authentication mechanism")
	entryServiceUnavailableClosing = newEntry("ServiceUnavailableClosing", 521, "5.3.2",
		"Service currently unavailable", nil,
		"The server refuses all mail from this client and hangs up (RFC 7504 521). The client's IP is blocked at connect; check the connection screening or access rules.",
		"postfix")
	entryCommandNotImplementedClosing = newEntry("CommandNotImplementedClosing", 521, "5.5.1",
		"Error: command not implemented", nil,
		"The client sent a command that is not implemented after a previous rejection, and the server hangs up. Typical of spam software.",
		"postfix")
	entryProtocolErrorClosing = newEntry("ProtocolErrorClosing", 521, "5.5.1",
		"Protocol error", nil,
		"The client broke the protocol (talking before the greeting, bare LF, pipelining without permission) and the server hangs up. Allow the client in the screening rules if it is legitimate.",
		"postfix")
	entryBDATSyntaxClosing = newEntry("BDATSyntaxClosing", 521, "5.5.4",
		"Syntax: BDAT count [LAST]", nil,
		"A BDAT command was malformed; since the data that follows cannot be framed, the server hangs up (RFC 3030). The client is broken.",
		"postfix")
	entryForbiddenCommand = newEntry("ForbiddenCommand", 521, "5.7.0",
		"Error: I can break rules, too. Goodbye.", nil,
		"The client sent a forbidden command (CONNECT, GET, POST: a web proxy attack on the mail port) and the server hangs up. Nothing to do.",
		"postfix")
	entryStartTLSRequired = newEntry("StartTLSRequired", 530, "5.7.0",
		"Must issue a STARTTLS command first", nil,
		"This server requires TLS before MAIL or AUTH. Configure the client to use STARTTLS.",
		"postfix", "barracuda:5XX_REQUIRES_TLS").alt("Must issue STARTTLS")
	entryAuthFailedDetail = newEntry("AuthFailedDetail", 535, "5.7.8",
		"Error: authentication failed: {detail}", []Param{pDetail},
		"The credentials were refused (RFC 4954 5.7.8); the detail gives the SASL server's reason. Check the user name and password; many failures from one address are a guessing attack.",
		"postfix")
	entrySenderUnknownLocal = newEntry("SenderUnknownLocal", 550, "5.1.0",
		"<{sender}>: Sender address rejected: User unknown in local recipient table", []Param{pSender},
		"The sender claims an address in one of this server's own domains that does not exist (reject_unlisted_sender): forged. Add the address if it is real.",
		"postfix")
	// RecipientUnknownLocal is 550 5.1.1 for a recipient with no mailbox (postfix).
	entryRecipientUnknownLocal = newEntry("RecipientUnknownLocal", 550, "5.1.1",
		"<{rcpt}>: Recipient address rejected: User unknown in local recipient table", []Param{pRcpt},
		"No mailbox or alias exists for the recipient in this domain. The sender must correct the address; add the user or an alias if it should exist.",
		"postfix")
	entryServiceCurrentlyUnavailable = newEntry("ServiceCurrentlyUnavailable", 550, "5.3.2",
		"Service currently unavailable", nil,
		"The server refuses mail from this client (a connection screening verdict). Check the screening rules for the client's IP.",
		"postfix")
	entryServiceUnavailable = newEntry("ServiceUnavailable", 550, "5.5.0",
		"Service unavailable", nil,
		"The server refuses to serve this client. Check the client restrictions and screening rules.",
		"postfix")
	entryProtocolError = newEntry("ProtocolError", 550, "5.5.1",
		"Protocol error", nil,
		"The client broke the SMTP protocol. The client is broken or hostile.",
		"postfix")
	entryInsufficientAuthorization = newEntry("InsufficientAuthorization", 550, "5.7.0",
		"Error: insufficient authorization", nil,
		"The authenticated user may not use this sender address or command. Change the sender-login map if it should be allowed.",
		"postfix")
	// ClientNoHostname is 550 5.7.1 for a client without valid reverse DNS (postfix).
	entryClientNoHostname = newEntry("ClientNoHostname", 550, "5.7.1",
		"Client host rejected: cannot find your hostname, [{ip}]", []Param{pIP},
		"The client's IP has no PTR record, or the PTR name does not resolve back to the IP (reject_unknown_client_hostname). The client's operator must fix reverse DNS.",
		"postfix")
	// SenderNullMX is 550 5.7.27 for a sender domain with a null MX (RFC 7505; postfix).
	entrySenderNullMX = newEntry("SenderNullMX", 550, "5.7.27",
		"<{sender}>: Sender address rejected: Domain {domain} does not accept mail (nullMX)", []Param{pSender, pDomain},
		"The sender's domain publishes a null MX (RFC 7505): it declares it never receives mail, so it cannot send mail that may bounce either. The sender's domain must publish a real MX.",
		"postfix", "smtppolicy").alt("<{sender}>: Sender address rejected: Domain {domain} does not accept mail")
	entryNullBDAT = newEntry("NullBDAT", 551, "5.7.1",
		"Null BDAT request", nil,
		"BDAT 0 without LAST carries nothing. The client is broken.",
		"postfix")
	entryChunkTooBig = newEntry("ChunkTooBig", 552, "5.3.4",
		"Chunk exceeds message size limit", nil,
		"A BDAT chunk took the message over the size limit. The sender must send a smaller message.",
		"postfix")
	entryMessageFileTooBig = newEntry("MessageFileTooBig", 552, "5.3.4",
		"Message file too big", nil,
		"The message is larger than the server's size limit. The sender must send a smaller message (a link instead of an attachment).",
		"postfix")
	entryMessageExceedsFSLimit = newEntry("MessageExceedsFSLimit", 552, "5.3.4",
		"Message size exceeds file system imposed limit", nil,
		"The message is larger than the largest file the queue file system allows. Raise the file size limit, or the sender sends less.",
		"postfix")
	entrySMTPUTF8Required = newEntry("SMTPUTF8Required", 553, "5.6.7",
		"Must declare SMTPUTF8 to send unicode address", nil,
		"The address holds non-ASCII characters but MAIL FROM did not declare SMTPUTF8 (RFC 6531). The client must add the SMTPUTF8 parameter.",
		"postfix")
	entryClientRejected = newEntry("ClientRejected", 554, "5.7.1",
		"<{client}>: Client host rejected: {text}", []Param{pClient, pText},
		"An access map or client restriction refused the client, with the map's own text. Find the entry matching the client's name or IP in the client access maps.",
		"postfix", "smtppolicy").variants("5.0.0", "5.4.0")
	// HeloRejected is 554 5.7.1, an access map refusal of the HELO name with its text (postfix).
	entryHeloRejected = newEntry("HeloRejected", 554, "5.7.1",
		"<{helo}>: Helo command rejected: {text}", []Param{pHelo, pText},
		"An access map or HELO restriction refused the HELO name, with the map's own text. Find the entry matching the name in the HELO access maps.",
		"postfix", "smtppolicy").variants("5.0.0", "5.4.0")
	entrySenderRejected = newEntry("SenderRejected", 554, "5.7.1",
		"<{sender}>: Sender address rejected: {text}", []Param{pSender, pText},
		"An access map or sender restriction refused the sender, with the map's own text. Find the entry matching the address or its domain in the sender access maps.",
		"postfix", "smtppolicy").variants("5.1.0", "5.1.7", "5.1.8", "5.4.0").variantCode(550, "5.7.1")
	entryRecipientRejected = newEntry("RecipientRejected", 554, "5.7.1",
		"<{rcpt}>: Recipient address rejected: {text}", []Param{pRcpt, pText},
		"An access map or recipient restriction refused the recipient, with the map's own text. Find the entry matching the address or its domain in the recipient access maps.",
		"postfix", "smtppolicy").variants("5.1.1", "5.1.2", "5.1.3", "5.1.4", "5.1.5", "5.1.6", "5.4.0")
	entryRecipientDomainNotFound = newEntry("RecipientDomainNotFound", 554, "5.1.2",
		"<{rcpt}>: Recipient address rejected: Domain not found", []Param{pRcpt},
		"The recipient's domain does not exist in DNS. The sender must correct the address.",
		"postfix")
	// SenderDomainNotFound is 554 5.1.8 for a sender domain that does not exist (postfix).
	entrySenderDomainNotFound = newEntry("SenderDomainNotFound", 554, "5.1.8",
		"<{sender}>: Sender address rejected: Domain not found", []Param{pSender},
		"The sender's domain does not exist in DNS, so no bounce could reach it. The sending software must use a real address.",
		"postfix")
	entryNeedRcptData = newEntry("NeedRcptData", 554, "5.5.1",
		"Error: need RCPT command", nil,
		"DATA came with no recipient accepted (after pipelining). The client is broken or all its recipients were refused.",
		"postfix")
	entryNoValidRecipients = newEntry("NoValidRecipients", 554, "5.5.1",
		"Error: no valid recipients", nil,
		"Every recipient of the transaction was refused, so DATA is refused too. Look at the RCPT replies for the reasons.",
		"postfix")
	entryTLSAlreadyActive = newEntry("TLSAlreadyActive", 554, "5.5.1",
		"Error: TLS already active", nil,
		"The client sent STARTTLS inside a TLS session. The client is broken.",
		"postfix")
	// RecipientAccessDenied is 554 5.7.1 for a recipient access map REJECT (postfix).
	entryRecipientAccessDenied = newEntry("RecipientAccessDenied", 554, "5.7.1",
		"<{rcpt}>: Recipient address rejected: Access denied", []Param{pRcpt},
		"A recipient access map says REJECT for the address or its domain. Change the entry if the recipient should receive mail.",
		"postfix")
	// SenderAccessDenied is 554 5.7.1 for a sender access map REJECT (postfix).
	entrySenderAccessDenied = newEntry("SenderAccessDenied", 554, "5.7.1",
		"<{sender}>: Sender address rejected: Access denied", []Param{pSender},
		"A sender access map says REJECT for the address or its domain. Change the entry if the sender should be allowed.",
		"postfix")
	// ClientAccessDenied is 554 5.7.1 for a client access map REJECT (postfix).
	entryClientAccessDenied = newEntry("ClientAccessDenied", 554, "5.7.1",
		"<{client}>: Client host rejected: Access denied", []Param{pClient},
		"A client access map says REJECT for the client's name or IP. Change the entry if the client should be allowed.",
		"postfix")
	// HeloAccessDenied is 554 5.7.1 for a HELO access map REJECT (postfix).
	entryHeloAccessDenied = newEntry("HeloAccessDenied", 554, "5.7.1",
		"<{helo}>: Helo command rejected: Access denied", []Param{pHelo},
		"A HELO access map says REJECT for the HELO name. Change the entry if the client should be allowed.",
		"postfix")
	// RecipientRelayDenied is 554 5.7.1 for relaying refused at RCPT (postfix).
	entryRecipientRelayDenied = newEntry("RecipientRelayDenied", 554, "5.7.1",
		"<{rcpt}>: Recipient address rejected: Relay access denied", []Param{pRcpt},
		"The recipient's domain is not one this server accepts mail for, and the client is neither trusted nor authenticated (reject_unauth_destination). Add the domain to the relay domains if it is yours; a client that should relay must authenticate.",
		"postfix")
	// RelayAccessDenied is 554 5.7.1 for relaying refused (postfix).
	entryRelayAccessDenied = newEntry("RelayAccessDenied", 554, "5.7.1",
		"<{rcpt}>: Relay access denied", []Param{pRcpt},
		"The recipient's domain is not one this server accepts mail for, and the client may not relay. Add the domain if it is yours; a client that should relay must authenticate.",
		"postfix")
	// DNSBLBlocked is 554 5.7.1 for a client listed in zone; text is appended as
	// is, so pass "; " and the list's TXT reason, or "" (postfix).
	entryDNSBLBlocked = newEntry("DNSBLBlocked", 554, "5.7.1",
		"Service unavailable; Client host [{ip}] blocked using {zone}{text}", []Param{pIP, pZone, pText},
		"The client's IP is listed in the DNS block list named (reject_rbl_client); any text after it is the list's TXT reason. Look the IP up on the list's web site; allow the client in an access map if you trust it.",
		"postfix", "smtppolicy")
	// ClientNoHostnameAuth is 450 4.7.25 for a client whose name is unknown or does not lead back to it (postfix).
	entryClientNoHostnameAuth = newEntry("ClientNoHostnameAuth", 450, "4.7.25",
		"Client host rejected: cannot find your hostname, [{ip}]", []Param{pIP},
		"The client's IP has no PTR record, or the PTR name does not resolve back to the IP (reject_unknown_client_hostname; RFC 7372 X.7.25). The code is unknown_client_reject_code when DNS said so, 450 when DNS failed. The client's operator must fix reverse DNS.",
		"postfix")
	// ClientNoReverseHostname is 450 4.7.1 for a client without a PTR name (postfix).
	entryClientNoReverseHostname = newEntry("ClientNoReverseHostname", 450, "4.7.1",
		"Client host rejected: cannot find your reverse hostname, [{ip}]", []Param{pIP},
		"The client's IP has no PTR record (reject_unknown_reverse_client_hostname). The code is unknown_client_reject_code when DNS said so, 450 when DNS failed. The client's operator must add reverse DNS.",
		"postfix")
	// HeloInvalidName is 501 5.5.2 for a HELO argument that is neither a host name nor an address (postfix).
	entryHeloInvalidName = newEntry("HeloInvalidName", 501, "5.5.2",
		"<{helo}>: Helo command rejected: Invalid name", []Param{pHelo},
		"The HELO argument is neither a valid host name nor an IP address (reject_invalid_helo_hostname). The client's operator must fix its HELO name.",
		"postfix")
	// RecipientNullMX is 556 5.1.10 for a recipient domain with a null MX (RFC 7505; postfix).
	entryRecipientNullMX = newEntry("RecipientNullMX", 556, "5.1.10",
		"<{rcpt}>: Recipient address rejected: Domain {domain} does not accept mail (nullMX)", []Param{pRcpt, pDomain},
		"The recipient's domain publishes a null MX (RFC 7505 556 5.1.10): it receives no mail at all. The sender must use another address.",
		"postfix").alt("<{rcpt}>: Recipient address rejected: Domain {domain} does not accept mail")
)
