package reply

// Replies from the smtpf filtering proxy's numbered list (refs "smtpf#NNN").
// Where smtpf gives the same reply from several places, one entry carries
// every number.

var (
	// HostBlacklisted is 550 5.7.1 for a client rejected by an access map Connect:
	// entry (smtpf#120).
	entryHostBlacklisted = newEntry("HostBlacklisted", 550, "5.7.1",
		"host {host} [{ip}] black listed", []Param{pHost, pIP},
		"An access map Connect: entry for the client's name or IP address says REJECT. Remove or change the entry if the client should be allowed.",
		"smtpf#120")
	// HostReservedDomain is 550 5.7.1 for a client named in an RFC 2606 reserved domain (smtpf#121).
	entryHostReservedDomain = newEntry("HostReservedDomain", 550, "5.7.1",
		"host {host} [{ip}] from RFC2606 reserved domain", []Param{pHost, pIP},
		"The client's host name is in a domain reserved by RFC 2606 (example, invalid, localhost, test), which no real mail server uses. The client's DNS is forged or broken; its operator must give it a real name.",
		"smtpf#121")
	// HostUnknownTLD is 550 5.7.1 for a client named in a TLD that does not exist (smtpf#122).
	entryHostUnknownTLD = newEntry("HostUnknownTLD", 550, "5.7.1",
		"host {host} [{ip}] from unknown TLD", []Param{pHost, pIP},
		"The client's host name ends in a top-level domain that does not exist. Its DNS is misconfigured or forged; the client's operator must fix its PTR record. Update the list of known TLDs if a new one was just delegated.",
		"smtpf#122")
	entryHostSenderBlacklisted = newEntry("HostSenderBlacklisted", 550, "5.7.1",
		"host {host} [{ip}] sender <{sender}> black listed", []Param{pHost, pIP, pSender},
		"An access map Connect:From: entry for this client and sender pair says REJECT. Change the entry if this client may send for this sender.",
		"smtpf#125")
	entrySenderBlacklisted = newEntry("SenderBlacklisted", 550, "5.7.1",
		"sender <{sender}> black listed", []Param{pSender},
		"An access map From: entry for the sender's address or domain says REJECT. Remove or change the entry if the sender should be allowed.",
		"smtpf#127")
	// SenderReservedDomain is 550 5.7.1 for a sender in an RFC 2606 reserved domain (smtpf#128).
	entrySenderReservedDomain = newEntry("SenderReservedDomain", 550, "5.7.1",
		"sender <{sender}> from RFC2606 reserved domain", []Param{pSender},
		"The sender's domain is reserved by RFC 2606 (example, invalid, localhost, test) and can never receive a bounce. The sending system is misconfigured; its operator must use a real sender address.",
		"smtpf#128")
	// SenderUnknownTLD is 550 5.7.1 for a sender in a TLD that does not exist (smtpf#129).
	entrySenderUnknownTLD = newEntry("SenderUnknownTLD", 550, "5.7.1",
		"sender <{sender}> from unknown TLD", []Param{pSender},
		"The sender's domain ends in a top-level domain that does not exist, so no bounce could reach it. The sender must use a real address; update the list of known TLDs if a new one was just delegated.",
		"smtpf#129")
	// RoutedRelayDenied is 550 5.7.1 for a source-routed or percent-hack recipient (smtpf#131).
	entryRoutedRelayDenied = newEntry("RoutedRelayDenied", 550, "5.7.1",
		"routed address relaying denied", nil,
		"The recipient uses a source route or percent hack (user%other@host), an old way to relay through this server. It is refused on purpose; the sender must address the final destination directly.",
		"smtpf#131")
	// UUCPDenied is 550 5.7.1 for a UUCP bang-path recipient (smtpf#132).
	entryUUCPDenied = newEntry("UUCPDenied", 550, "5.7.1",
		"UUCP addressing denied", nil,
		"The recipient uses UUCP bang-path addressing (host!user), which this server does not route. The sender must use an ordinary user@domain address.",
		"smtpf#132")
	// QuotedAtSignDenied is 550 5.7.1 for a quoted at-sign in a local part (smtpf#133).
	entryQuotedAtSignDenied = newEntry("QuotedAtSignDenied", 550, "5.7.1",
		"special case of at-sign in local-part denied", nil,
		"The recipient's local part holds a quoted at-sign (\"user@other\"@host), a trick to relay through servers that mis-parse it. It is refused on purpose; the sender must use a plain address.",
		"smtpf#133")
	entryHostRecipientBlacklisted = newEntry("HostRecipientBlacklisted", 550, "5.7.1",
		"host {host} [{ip}] recipient <{rcpt}> black listed", []Param{pHost, pIP, pRcpt},
		"An access map Connect:To: entry for this client and recipient pair says REJECT. Change the entry if this client may send to this recipient.",
		"smtpf#135")
	entrySenderRecipientBlacklisted = newEntry("SenderRecipientBlacklisted", 550, "5.7.1",
		"sender <{sender}> recipient <{rcpt}> black listed", []Param{pSender, pRcpt},
		"An access map From:To: entry for this sender and recipient pair says REJECT. Change the entry if this sender may write to this recipient.",
		"smtpf#137")
	entryRecipientBlacklisted = newEntry("RecipientBlacklisted", 550, "5.7.1",
		"recipient <{rcpt}> black listed", []Param{pRcpt},
		"An access map To: entry for the recipient's address or domain says REJECT (the address is closed to outside mail). Remove the entry if the recipient should receive mail.",
		"smtpf#139")
	// RecipientReservedDomain is 550 5.7.1 for a recipient in an RFC 2606 reserved domain (smtpf#140).
	entryRecipientReservedDomain = newEntry("RecipientReservedDomain", 550, "5.7.1",
		"recipient <{rcpt}> from RFC2606 reserved domain", []Param{pRcpt},
		"The recipient's domain is reserved by RFC 2606 (example, invalid, localhost, test) and cannot receive mail. The sender must correct the address.",
		"smtpf#140")
	// RecipientUnknownTLD is 550 5.7.1 for a recipient in a TLD that does not exist (smtpf#141).
	entryRecipientUnknownTLD = newEntry("RecipientUnknownTLD", 550, "5.7.1",
		"recipient <{rcpt}> from unknown TLD", []Param{pRcpt},
		"The recipient's domain ends in a top-level domain that does not exist. The sender must correct the address; update the list of known TLDs if a new one was just delegated.",
		"smtpf#141")
	entryScannerError = newEntry("ScannerError", 451, "4.4.0",
		"{scanner} {op} error: {detail} ({errno})", []Param{pScanner, {"op", KindText}, pDetail, pErrno},
		"The connection to a content scanner daemon (avastd, clamd, fpscand) failed: bad socket address, connect, read or write error. Mail is deferred, not lost. Check that the daemon runs and that the scanner socket and timeout settings point at it.",
		"smtpf#149", "smtpf#150", "smtpf#151", "smtpf#153", "smtpf#156", "smtpf#158", "smtpf#160",
		"smtpf#178", "smtpf#179", "smtpf#180", "smtpf#183", "smtpf#185", "smtpf#186", "smtpf#189",
		"smtpf#190", "smtpf#191", "smtpf#204", "smtpf#367", "smtpf#368", "smtpf#369", "smtpf#372", "smtpf#373")
	// ScannerBufferOverflow is 451 4.4.0 for an over-long scanner answer (smtpf#154).
	entryScannerBufferOverflow = newEntry("ScannerBufferOverflow", 451, "4.4.0",
		"{scanner} buffer overflow", []Param{pScanner},
		"A content scanner daemon sent an answer longer than expected. Mail is deferred. Check the scanner's version against this server's and its socket settings.",
		"smtpf#154", "smtpf#181", "smtpf#370")
	entryScannerPortParseError = newEntry("ScannerPortParseError", 451, "4.4.0",
		"{scanner} session port \"{port}\" parse error", []Param{pScanner, {"port", KindText}},
		"The clamd daemon answered a STREAM request with a port this server could not read. Mail is deferred. Check the clamd version and the network between the two hosts.",
		"smtpf#188")
	entryScannerWriteAfter = newEntry("ScannerWriteAfter", 451, "4.4.0",
		"{scanner} session write error after {count} bytes", []Param{pScanner, pCount},
		"Streaming the message to the clamd daemon failed part way. Mail is deferred. Check that clamd runs, its stream size limit, and the scanner timeout.",
		"smtpf#196", "smtpf#199")
	// ScannerUnexpected is 451 4.4.0 for a scanner answer this server does not understand (smtpf#206).
	entryScannerUnexpected = newEntry("ScannerUnexpected", 451, "4.4.0",
		"unexpected {scanner} result: {detail}", []Param{pScanner, pDetail},
		"The clamd daemon returned an answer this server does not understand, from a protocol change between versions or data corruption on the network. Mail is deferred. Check the clamd version.",
		"smtpf#206")
	// Rejected is 550 5.7.1 with a rule's own reason as the whole text: a virus
	// scanner's verdict, a spam score, an access map REJECT with custom text
	// (smtpf#162, smtpf#666).
	entryRejected = newEntry("Rejected", 550, "5.7.1",
		"{reason}", []Param{pReason},
		"A policy rejected the message with the reason in the text: a virus scanner (avastd, clamd, fpscand) found a virus or suspicious content, a spam score was over the limit, or an access map REJECT gave its own text. Read the text for the rule; it is the rule's own wording.",
		"smtpf#162", "smtpf#208", "smtpf#376", "smtpf#666", "smtpf#693", "smtppolicy")
	entryExternalCheckFailed = newEntry("ExternalCheckFailed", 550, "5.7.0",
		"{text}", []Param{pText},
		"An external check program answered with its own code and text (its standard output and error form the reply). The code is chosen per reply (any 4xx or 5xx with enhanced code X.7.0); read the program's text for its reason.",
		"smtpf#224").anyCode()
	entryRecipientExpired = newEntry("RecipientExpired", 550, "5.7.1",
		"recipient <{rcpt}> expired", []Param{pRcpt},
		"The recipient address was a time-limited address that has expired. The sender must use the recipient's current address.",
		"smtpf#244")
	entryRecipientInvalid = newEntry("RecipientInvalid", 550, "5.7.1",
		"recipient <{rcpt}> invalid", []Param{pRcpt},
		"The recipient address is a signed or time-limited address whose signature does not verify. The sender must use the recipient's real address.",
		"smtpf#245")
	entryClosing = newEntry("Closing", 221, "2.0.0",
		"{host} closing connection", []Param{pHost},
		"The client sent QUIT; the server closes the connection. Nothing to do.",
		"smtpf#247")
	entryCommandUnknown = newEntry("CommandUnknown", 500, "5.5.1",
		"{command} command unknown", []Param{pCommand},
		"The client sent a command this server does not know. Often a sign of a non-SMTP client or a broken one; nothing to change on the server.",
		"smtpf#248")
	entryMissingArgument = newEntry("MissingArgument", 501, "5.5.2",
		"{command} missing argument", []Param{pCommand},
		"The command needs one or more arguments and the client gave none. The client is broken.",
		"smtpf#249")
	entryNotImplemented = newEntry("NotImplemented", 502, "5.5.1",
		"{command} not implemented", []Param{pCommand},
		"The command is defined by an RFC but this server does not support it. Clients must fall back to another command.",
		"smtpf#250")
	entryOutOfSequence = newEntry("OutOfSequence", 503, "5.5.1",
		"{command} out of sequence", []Param{pCommand},
		"The client sent a command out of order: HELO/EHLO must come before MAIL, MAIL before RCPT, at least one accepted RCPT before DATA, AUTH after EHLO and before MAIL (RFC 5321 4.1.4). The client is broken or pipelining without waiting.",
		"smtpf#251")
	// HeloChanged is 550 5.7.1 for a client that changed its HELO name (smtpf#252).
	entryHeloChanged = newEntry("HeloChanged", 550, "5.7.1",
		"client {host} [{ip}] is schizophrenic", []Param{pHost, pIP},
		"The client sent HELO or EHLO more than once, each time with a different name: real mail servers know their own name. Typical of spam software; allow the client in the access map if it is legitimate.",
		"smtpf#252", "smtpf#255")
	entryEhloNotSupported = newEntry("EhloNotSupported", 502, "5.5.1",
		"EHLO not supported", nil,
		"ESMTP is turned off, so the client must downgrade to HELO (RFC 5321 4.1.4). Turn ESMTP on unless there is a reason to force plain SMTP.",
		"smtpf#253")
	// Hello is 250, the answer to HELO (smtpf#256).
	entryHello = newEntry("Hello", 250, "",
		"Hello {helo} [{ip}]", []Param{pHelo, pIP},
		"The server accepted HELO or EHLO; for EHLO the extension list follows on further lines.",
		"smtpf#254", "smtpf#256")
	entryAuthCancelled = newEntry("AuthCancelled", 501, "5.5.1",
		"AUTH cancelled", nil,
		"The client cancelled an AUTH exchange by sending \"*\" (RFC 4954). Nothing to change on the server; the client may retry AUTH.",
		"smtpf#259", "smtpf#264")
	entryAuthNotSupported = newEntry("AuthNotSupported", 502, "5.5.1",
		"AUTH not supported", nil,
		"The client tried AUTH but authentication is not enabled on this server. Enable it if clients are meant to authenticate here.",
		"smtpf#000")
	entryAlreadyAuthenticated = newEntry("AlreadyAuthenticated", 503, "5.5.1",
		"already authenticated", nil,
		"The client sent AUTH after authenticating successfully; RFC 4954 forbids a second AUTH in one session. The client is broken.",
		"smtpf#267", "postfix", "barracuda:5XX_ALREADY_AUTH").alt("Error: already authenticated")
	entryUnknownAuthMechanism = newEntry("UnknownAuthMechanism", 504, "5.5.4",
		"unknown AUTH mechanism", nil,
		"The client asked for an AUTH mechanism this server does not offer (only those listed in the EHLO reply, such as PLAIN and LOGIN). Configure the client to use one of them.",
		"smtpf#269")
	entryAuthenticated = newEntry("Authenticated", 235, "2.0.0",
		"authenticated", nil,
		"The client authenticated successfully; its mail is relayed as a trusted user's.",
		"smtpf#274")
	entryAuthFailed = newEntry("AuthFailed", 535, "5.7.0",
		"authentication failed", nil,
		"The user name or password was wrong. Check the credentials; repeated failures from one address are a password-guessing attack worth blocking.",
		"smtpf#275", "barracuda:5XX_AUTH_FAILED")
	entryETRNQueueFailed = newEntry("ETRNQueueFailed", 458, "4.4.0",
		"unable to queue messages for {domain}", []Param{pDomain},
		"An ETRN request could not start a queue run for the domain at the local route that holds the queue. Check the route for that domain and the queueing server.",
		"smtpf#276")
	entryForwardReply = newEntry("ForwardReply", 550, "5.0.0",
		"{text}", []Param{pText},
		"The reply of the forward (downstream) host, relayed to the client as it was given: after ETRN, or with relay-reply on. Look the text up on the forward host; its own catalog tells which rule answered.",
		"smtpf#277", "smtpf#299").anyCode().passThrough()
	// SenderSyntax is 553 5.5.2 for a MAIL FROM address breaking a grammar rule (smtpf#279).
	entrySenderSyntax = newEntry("SenderSyntax", 553, "5.5.2",
		"rejected sender {sender} {reason}", []Param{{"sender", KindWord}, pReason},
		"The MAIL FROM address breaks a strict RFC 5321 grammar rule (line, path, local part or domain length, a plus in an IP literal, a leading, trailing or double dot, postmaster without a domain, which only RCPT may use). The sending software is broken; relax the strict grammar options only if a legitimate sender needs it.",
		"smtpf#279")
	// SyntaxError is 501 5.5.2 for a space after MAIL FROM: or RCPT TO: (smtpf#280).
	entrySyntaxError = newEntry("SyntaxError", 501, "5.5.2",
		"syntax error", nil,
		"The RFC 5321 grammar allows no space between MAIL FROM: or RCPT TO: and the <address>. A space there is typical of viruses and spam software; a legitimate client that needs it is rare and can be allowed by relaxing the extra-spaces option.",
		"smtpf#280", "smtpf#285")
	entryForwardSenderDenied = newEntry("ForwardSenderDenied", 550, "5.1.0",
		"sender <{sender}> denied", []Param{pSender},
		"The forward host rejected or temporarily failed the sender; its basic code is relayed (4xx or 5xx with X.1.0). Look in the forward host's log for the reason.",
		"smtpf#282").anyCode()
	entrySenderAccepted = newEntry("SenderAccepted", 250, "2.1.0",
		"sender <{sender}> accepted", []Param{pSender},
		"MAIL FROM was accepted; the client goes on with RCPT TO. Nothing to do.",
		"smtpf#283")
	// RecipientSyntax is 553 5.5.2 for a RCPT TO address breaking a grammar rule (smtpf#284).
	entryRecipientSyntax = newEntry("RecipientSyntax", 553, "5.5.2",
		"rejected recipient {rcpt} {reason}", []Param{{"rcpt", KindWord}, pReason},
		"The RCPT TO address breaks a strict RFC 5321 grammar rule (line, path, local part or domain length, a plus in an IP literal, a leading, trailing or double dot). The sender must correct the address.",
		"smtpf#284")
	// NullRecipient is 550 5.7.1 for RCPT TO:<> (smtpf#286).
	entryNullRecipient = newEntry("NullRecipient", 550, "5.7.1",
		"null recipient invalid", nil,
		"The client sent RCPT TO:<>, which is never a valid recipient. The client is broken.",
		"smtpf#286")
	entryForwardDeferred = newEntry("ForwardDeferred", 451, "4.0.0",
		"cannot forward mail for <{rcpt}> at this time", []Param{pRcpt},
		"This server accepts mail for the recipient's domain but could not reach the forward host that holds the mailbox. The client will retry; check the forward host and the route for the domain.",
		"smtpf#287", "smtpf#295")
	// RelayDenied is 550 5.7.1 for a recipient in a domain this server does not
	// accept mail for (smtpf#288).
	entryRelayDenied = newEntry("RelayDenied", 550, "5.7.1",
		"recipient <{rcpt}> relaying denied", []Param{pRcpt},
		"The client tried to send to a domain this server does not accept mail for, without authenticating or coming from a trusted network. Add the domain to the accepted domains if it is yours; otherwise the client is using the server as a relay and is refused on purpose.",
		"smtpf#288", "smtpf#293", "smtpf#296")
	entryRecipientAccepted = newEntry("RecipientAccepted", 250, "2.1.5",
		"recipient <{rcpt}> accepted", []Param{pRcpt},
		"RCPT TO was accepted; the client adds more recipients or goes on with DATA. Nothing to do.",
		"smtpf#290", "smtpf#297")
	entryRecipientUnknown = newEntry("RecipientUnknown", 550, "5.7.1",
		"recipient <{rcpt}> unknown", []Param{pRcpt},
		"A call-ahead to the forward host that holds the mailboxes rejected the recipient: the address does not exist there. The sender must correct the address; if it should exist, create it on the forward host.",
		"smtpf#292")
	entryForwardRecipientDenied = newEntry("ForwardRecipientDenied", 550, "5.1.1",
		"recipient <{rcpt}> denied", []Param{pRcpt},
		"The forward host rejected the recipient; its codes are relayed with a standard text. Look in the forward host's log for the reason.",
		"smtpf#300").anyCode()
	// TransactionFailed is 554 5.7.0 for a message refused without detail (smtpf#306).
	entryTransactionFailed = newEntry("TransactionFailed", 554, "5.7.0",
		"transaction failed", nil,
		"The message was refused at the end of DATA by a policy that gives no detail. Look in the server's log for the rule that refused it.",
		"smtpf#306", "barracuda:5XX_FAILED")
	entryTransactionAborted = newEntry("TransactionAborted", 451, "4.4.0",
		"transaction aborted", nil,
		"The transaction was aborted by a local or forward-host error. The client will retry; check the log for the cause.",
		"smtpf#307")
	entryContentLineTooLong = newEntry("ContentLineTooLong", 554, "5.5.2",
		"content line too long ({length}); RFC 2821 section 4.5.3.1", []Param{pLength},
		"A line of the message is longer than the 1000 octets RFC 5321 4.5.3.1.6 allows. The sending software must encode long lines (quoted-printable or base64).",
		"smtpf#321")
	entryRequiresRestart = newEntry("RequiresRestart", 501, "5.5.4",
		"{option} requires restart", []Param{{"option", KindWord}},
		"The option cannot change while the server runs. Change it in the configuration file and restart the server.",
		"smtpf#323")
	entryKillingSession = newEntry("KillingSession", 214, "2.0.0",
		"killing session {id}", []Param{pID},
		"An administrator's KILL command is ending the named session.",
		"smtpf#324")
	entrySessionKilled = newEntry("SessionKilled", 550, "5.0.0",
		"session {id} killed", []Param{pID},
		"An administrator ended this session. Ask the server's administrator why.",
		"smtpf#325")
	entrySessionNotFound = newEntry("SessionNotFound", 504, "5.5.4",
		"session {id} not found", []Param{pID},
		"The session given to KILL does not exist: it has already ended, or the ID has a typo.",
		"smtpf#326")
	entryTooManyConcurrent = newEntry("TooManyConcurrent", 421, "4.7.1",
		"client {host} [{ip}] too many concurrent connections, max={max}", []Param{pHost, pIP, pMax},
		"The client has more connections open at once than its access map Concurrent-Connect: limit. It will retry later; raise the limit for this client if it is a legitimate busy server.",
		"smtpf#329")
	// DuplicateMessage is 550 5.3.4 for a message received twice (smtpf#340).
	entryDuplicateMessage = newEntry("DuplicateMessage", 550, "5.3.4",
		"duplicate message rejected", nil,
		"The same message was already received and is refused a second time. Nothing to do unless duplicates are legitimate here.",
		"smtpf#340")
	// DSNTooOld is 550 5.7.1 for a bounce to a message older than the signature lifetime (smtpf#357).
	entryDSNTooOld = newEntry("DSNTooOld", 550, "5.7.1",
		"DSN or MDN in response to an old message", nil,
		"A bounce or receipt refers to a message sent longer ago than the bounce-verification lifetime (emew-ttl): most likely backscatter from spam forging our addresses. Raise the lifetime if real bounces arrive late.",
		"smtpf#357")
	// DSNNotOurs is 550 5.7.1 for a bounce to a message this site never sent (smtpf#358).
	entryDSNNotOurs = newEntry("DSNNotOurs", 550, "5.7.1",
		"DSN or MDN for message that did not originate here", nil,
		"A bounce or receipt carries no valid signature of ours, so it answers a message this site never sent: backscatter from spam that forged our address. Check the emew secret if real bounces are refused.",
		"smtpf#358")
	// FirstContactDeferred is 421 4.4.0 for a client IP never seen before (smtpf#363).
	entryFirstContactDeferred = newEntry("FirstContactDeferred", 421, "4.4.0",
		"client {host} [{ip}] unknown", []Param{pHost, pIP},
		"An RFC 5321 conformance test: a client IP never seen before is told 421 to see whether it sends a clean QUIT (a real mail server) or pipelines or drops (spam software, then blacklisted). A real server retries and gets through.",
		"smtpf#363")
	// FirstContactFailed is 554 5.4.0 for a client that failed the 421 test (smtpf#364).
	entryFirstContactFailed = newEntry("FirstContactFailed", 554, "5.4.0",
		"client {host} [{ip}] \"No soup for you!\"", []Param{pHost, pIP},
		"The client failed the 421 conformance test (it did not QUIT cleanly after a 421) and was blacklisted automatically. Remove the entry if the client is a legitimate server.",
		"smtpf#364")
	entryGreylistFailed = newEntry("GreylistFailed", 550, "5.7.1",
		"{host} [{ip}] failed grey listing", []Param{pHost, pIP},
		"The client did not retry within the greylisting window, or retried too soon too often, so it is treated as spam software. A legitimate server that fails this needs an access map allow entry.",
		"smtpf#388")
	// PTRLookupError is 421 4.4.3 when the client's reverse lookup fails (smtpf#415).
	entryPTRLookupError = newEntry("PTRLookupError", 421, "4.4.3",
		"PTR record lookup error for [{ip}]", []Param{pIP},
		"The reverse DNS lookup for the client's IP failed (timeout or SERVFAIL), so the PTR check could not decide. The client retries; if it persists, check this server's resolver or the client's reverse zone.",
		"smtpf#415")
	// MissingPTR is 554 5.7.1 for a client IP without reverse DNS (smtpf#416).
	entryMissingPTR = newEntry("MissingPTR", 554, "5.7.1",
		"reject [{ip}] missing PTR record", []Param{pIP},
		"The client's IP has no PTR record, and PTR records are required here. The client's operator must add reverse DNS (mail servers should always have it); allow the IP in the access map meanwhile if needed.",
		"smtpf#416")
	// MissingPTRLate is 550 5.7.1 for a client IP without reverse DNS, found by a
	// delayed check (smtpf#449).
	entryMissingPTRLate = newEntry("MissingPTRLate", 550, "5.7.1",
		"reject [{ip}] missing PTR record (2)", []Param{pIP},
		"The client's IP has no PTR record (the check ran late, at RCPT, with delayed checks on). The client's operator must add reverse DNS; allow the IP in the access map meanwhile if needed.",
		"smtpf#449")
	entryIPInClientName = newEntry("IPInClientName", 550, "5.7.1",
		"reject IP in client name {host} [{ip}] ({stage})", []Param{pHost, pIP, {"stage", KindNumber}},
		"The client's PTR name embeds its IP address (like 1-2-3-4.dsl.example.net): a dynamic or residential address that should send through its provider's mail server. Allow it in the access map if it is a real mail server.",
		"smtpf#418", "smtpf#450")
	// PreGreetingTraffic is 550 5.7.1 for a client that talked before the greeting (smtpf#420).
	entryPreGreetingTraffic = newEntry("PreGreetingTraffic", 550, "5.7.1",
		"{host} [{ip}] sent pre-greeting traffic", []Param{pHost, pIP},
		"The client talked before the server's greeting, which RFC 5321 3.1 forbids: typical of spam software that does not wait. Allow the client (GreetPause: 0 in the access map) if it is legitimate.",
		"smtpf#420")
	// HeloInvalid is 501 5.5.4 for a HELO name with invalid characters (smtpf#423).
	entryHeloInvalid = newEntry("HeloInvalid", 501, "5.5.4",
		"invalid HELO {helo}", []Param{pHelo},
		"The HELO or EHLO name contains characters no host name or address literal has (only letters, digits, hyphen, underscore, dot and square brackets pass). The client is broken or hostile.",
		"smtpf#423")
	// HeloMismatch is 550 5.7.0 for a HELO address literal that is not the client's IP (smtpf#424).
	entryHeloMismatch = newEntry("HeloMismatch", 550, "5.7.0",
		"HELO {helo} does not match client {host} [{ip}]", []Param{pHelo, pHost, pIP},
		"The HELO name is an IP address literal different from the client's real IP. Turn off the helo-ip-mismatch check if clients behind NAT need it.",
		"smtpf#424")
	// HeloReservedDomain is 550 5.7.0 for a HELO name in an RFC 2606 reserved domain (smtpf#427).
	entryHeloReservedDomain = newEntry("HeloReservedDomain", 550, "5.7.0",
		"HELO {helo} from RFC2606 reserved domain", []Param{pHelo},
		"The HELO name is in a domain reserved by RFC 2606 (example, invalid, localhost, test); a real mail server names itself. The client's operator must set a proper host name.",
		"smtpf#427")
	// HeloNotFQDN is 550 5.7.0 for a HELO that is neither an FQDN nor an address literal (smtpf#428).
	entryHeloNotFQDN = newEntry("HeloNotFQDN", 550, "5.7.0",
		"HELO {helo} argument must be a FQDN or IP-domain literal", []Param{pHelo},
		"RFC 5321 4.1.1.1 requires the HELO argument to be a fully-qualified domain name or an address literal like [192.0.2.1]. The client's operator must set a proper host name.",
		"smtpf#428")
	// HeloClaimsUs is 550 5.7.0 for a client using this server's name in HELO (smtpf#430).
	entryHeloClaimsUs = newEntry("HeloClaimsUs", 550, "5.7.0",
		"{host} [{ip}] claims to be us \"{helo}\"", []Param{pHost, pIP, pHelo},
		"The client used this server's own name or address in HELO: a forgery, since the server does not connect to itself. Check for a misconfigured relay in your own network before anything else.",
		"smtpf#430")
	// HeloIsPTR is 550 5.7.0 for a HELO name that is a generic IP-in-PTR name (smtpf#432).
	entryHeloIsPTR = newEntry("HeloIsPTR", 550, "5.7.0",
		"HELO {helo} equivalent to client IP-in-PTR", []Param{pHelo},
		"The HELO name is a generic PTR name with the IP embedded in it: a dynamic or residential address. The client should send through its provider's mail server.",
		"smtpf#432")
	// SenderNoMX is 553 5.1.8 for a sender domain without MX (smtpf#434).
	entrySenderNoMX = newEntry("SenderNoMX", 553, "5.1.8",
		"sender <{sender}> from {domain} has no MX record", []Param{pSender, pDomain},
		"The sender's domain has no MX record, so replies and bounces to it could not be delivered. The sender's domain must publish an MX; turn off the require-MX check for domains you trust.",
		"smtpf#434", "smtpf#443")
	// SenderMXLookupError is 451 4.4.3 when the sender domain's MX lookup fails (smtpf#436).
	entrySenderMXLookupError = newEntry("SenderMXLookupError", 451, "4.4.3",
		"sender <{sender}> from {domain} MX lookup error", []Param{pSender, pDomain},
		"Looking up the sender domain's MX failed (timeout or SERVFAIL). The client retries; if it persists, check this server's resolver and the sender domain's name servers.",
		"smtpf#436", "smtpf#447")
	// SenderMXInvalid is 553 5.1.8 for a sender domain whose MX hosts are all unusable (smtpf#439).
	entrySenderMXInvalid = newEntry("SenderMXInvalid", 553, "5.1.8",
		"sender <{sender}> from {domain} MX invalid", []Param{pSender, pDomain},
		"Every MX host of the sender's domain resolves to localhost, a private or reserved address, or nothing at all, so bounces could not reach it. The sender's domain must fix its MX records.",
		"smtpf#439", "smtpf#445")
	// DSNTooManyRecipients is 550 5.7.1 for a null-sender message to several recipients (smtpf#441).
	entryDSNTooManyRecipients = newEntry("DSNTooManyRecipients", 550, "5.7.1",
		"too many recipients for DSN or MDN", nil,
		"A message with the null sender (a bounce or receipt) had more than one recipient; real bounces go to one address. Typical of spam disguised as bounces.",
		"smtpf#441", "smtpf#452")
	entryHeaderNotASCII = newEntry("HeaderNotASCII", 554, "5.6.0",
		"message headers must be US-ASCII, found 0x{byte}; RFC 2822 section 2.2", []Param{{"byte", KindWord}},
		"A header holds a raw 8-bit byte; RFC 5322 2.2 headers are US-ASCII (non-ASCII text must be RFC 2047 encoded, or sent with SMTPUTF8). The sending software must encode its headers.",
		"smtpf#456")
	// InvalidDateHeader is 554 5.6.0 for a missing or malformed Date: (smtpf#457).
	entryInvalidDateHeader = newEntry("InvalidDateHeader", 554, "5.6.0",
		"invalid Date: header", nil,
		"The Date: header is missing or does not follow the RFC 5322 3.3 date grammar. The sending software must write a valid Date:.",
		"smtpf#457")
	// InvalidMessageIDHeader is 554 5.6.0 for a missing or malformed Message-ID: (smtpf#458).
	entryInvalidMessageIDHeader = newEntry("InvalidMessageIDHeader", 554, "5.6.0",
		"invalid Message-ID: header", nil,
		"The Message-ID: header is missing or not in the RFC 5322 3.6.4 form <left@right>. The sending software must write a valid Message-ID:.",
		"smtpf#458")
	entryInvalidReceivedHeader = newEntry("InvalidReceivedHeader", 554, "5.6.0",
		"invalid Received: header", nil,
		"A Received: trace header does not follow the RFC 5321 4.4 grammar. The relay that added it is broken.",
		"smtpf#459")
	// InvalidResentDateHeader is 554 5.6.0 for a malformed Resent-Date: (smtpf#461).
	entryInvalidResentDateHeader = newEntry("InvalidResentDateHeader", 554, "5.6.0",
		"invalid Resent-Date: header", nil,
		"The Resent-Date: header does not follow the RFC 5322 3.3 date grammar. The resending software must write a valid date.",
		"smtpf#461")
	// MissingRequiredHeaders is 554 5.6.0 for a message without required headers (smtpf#462).
	entryMissingRequiredHeaders = newEntry("MissingRequiredHeaders", 554, "5.6.0",
		"missing RFC 2822 required headers", nil,
		"The message lacks a header RFC 5322 3.6 requires (From: and Date:) or one required here (Message-ID:). The sending software must add them.",
		"smtpf#462")
	entryMessageRateExceeded = newEntry("MessageRateExceeded", 451, "4.7.1",
		"{who} has exceeded {max} message{s1} per {period} {unit}{s2}", []Param{{"who", KindText}, pMax, {"s1", KindAffix}, {"period", KindNumber}, {"unit", KindWord}, {"s2", KindAffix}},
		"The client, sender or recipient sent more messages in the period than its access map Msg-Limit- entry allows. The client retries later; raise the limit if the volume is legitimate.",
		"smtpf#475")
	entryForwardNetworkError = newEntry("ForwardNetworkError", 451, "4.4.2",
		"internal network error for {host}", []Param{pHost},
		"Sending a command to, or reading a reply from, the forward host failed. The client retries; check the forward host and the network to it.",
		"smtpf#481", "smtpf#485")
	entryCallbackNoAnswer = newEntry("CallbackNoAnswer", 451, "4.4.4",
		"no answer from {domain} MX", []Param{pDomain},
		"Sender verification (call-back) reached none of the sender domain's MX hosts. The client retries; persistent failures mean the sender domain cannot receive bounces.",
		"smtpf#488", "smtpf#496")
	entryCallbackNoSuchSender = newEntry("CallbackNoSuchSender", 553, "5.4.4",
		"{sender} does not exist", []Param{{"sender", KindWord}},
		"Sender verification (call-back) found that the sender's domain does not exist. The sender address is forged or mistyped.",
		"smtpf#489")
	entryCallbackMXLookupError = newEntry("CallbackMXLookupError", 451, "4.4.3",
		"{domain} MX lookup error", []Param{pDomain},
		"Sender verification (call-back) could not look up the sender domain's MX records. The client retries; check this server's resolver if it persists.",
		"smtpf#491")
	entryCallbackNoAcceptableMX = newEntry("CallbackNoAcceptableMX", 550, "5.4.4",
		"no acceptable MX for {domain}", []Param{pDomain},
		"For sender verification (call-back), every MX host of the sender's domain resolves to localhost, a reserved address, or nothing. The sender domain cannot receive bounces and must fix its MX records.",
		"smtpf#493", "smtpf#501")
	entryCallbackLookupDeferred = newEntry("CallbackLookupDeferred", 451, "4.4.3",
		"{domain} {error}", []Param{pDomain, {"error", KindText}},
		"Sender verification (call-back) hit a temporary DNS error for the sender's domain, named in the text. The client retries.",
		"smtpf#498")
	entryCallbackLookupFailed = newEntry("CallbackLookupFailed", 553, "5.4.4",
		"{domain} {error}", []Param{pDomain, {"error", KindText}},
		"Sender verification (call-back) failed to look up the sender domain's MX records, with the DNS error in the text. The sender domain's DNS is broken.",
		"smtpf#499")
	entryNullRateExceeded = newEntry("NullRateExceeded", 550, "5.7.1",
		"null-sender messages {count} for <{rcpt}> exceed {max}/60s", []Param{pCount, pRcpt, pMax},
		"The recipient received more bounces per minute than its access map Null-Rate-To: limit: a backscatter flood. Raise the limit if the recipient really gets that many bounces.",
		"smtpf#505")
	// Proceed is 250 2.0.0, accepting a command while a delayed rejection waits
	// for RCPT TO (smtpf#507).
	entryProceed = newEntry("Proceed", 250, "2.0.0",
		"proceed", nil,
		"The command is accepted for now; a rejection decided earlier is held back and given at RCPT TO (delayed checks), so the log shows which recipient was refused.",
		"smtpf#507", "smtppolicy")
	entryConnectionRateExceeded = newEntry("ConnectionRateExceeded", 421, "4.4.5",
		"client {host} [{ip}] connections {count} exceed {max}/60s", []Param{pHost, pIP, pCount, pMax},
		"The client opened more connections per minute than its access map Rate-Connect: limit. It retries later; raise the limit if the client is a legitimate busy server.",
		"smtpf#522")
	// DNSBLListed is 550 5.7.0 for a client listed in the DNS block list zone (smtpf#525).
	entryDNSBLListed = newEntry("DNSBLListed", 550, "5.7.0",
		"{host} [{ip}] black listed by {zone}", []Param{pHost, pIP, pZone},
		"The client's IP is listed in the DNS block list named. Look the IP up on the list's web site for the reason and removal; add an access map allow entry for a client you trust.",
		"smtpf#525", "smtpf#530", "smtppolicy")
	// Accept is 250 2.0.0 OK, the plain acceptance (smtpf#547, postfix).
	entryAccept = newEntry("Accept", 250, "2.0.0",
		"OK", nil,
		"The command was accepted; the client goes on with the next one. Nothing to do.",
		"smtpf#547", "postfix", "smtppolicy").alt("Ok")
	entryHelpEnd = newEntry("HelpEnd", 214, "2.0.0",
		"end", nil,
		"The last line of a multi-line help or status reply.",
		"smtpf#548")
	// InternalErrorClosing is 421 4.3.0 for an internal error that ends the session (smtpf#549).
	entryInternalErrorClosing = newEntry("InternalErrorClosing", 421, "4.3.0",
		"internal server error", nil,
		"The server hit an internal error it cannot continue from and closes the connection. The client retries; look in the server's log for the error.",
		"smtpf#549")
	// InternalError is 451 4.3.0, given when a check fails for a reason of the
	// server's own and the error policy is temp-fail (smtpf#550).
	entryInternalError = newEntry("InternalError", 451, "4.3.0",
		"internal server error", nil,
		"A check failed for a reason of this server's own (a lookup error, a store that is down, a bug). The client will retry; look in the server's log for the check that failed.",
		"smtpf#550", "smtppolicy")
	entryResourcesExceeded = newEntry("ResourcesExceeded", 421, "4.3.2",
		"system resources exceeded", nil,
		"The server is out of memory, disk space or a similar resource and drops the connection. Free the resource; clients retry.",
		"smtpf#551")
	// TryAgainLater is 451 4.7.0, the generic policy temp-fail (smtpf#552).
	entryTryAgainLater = newEntry("TryAgainLater", 451, "4.7.0",
		"try again later", nil,
		"A generic temporary refusal, most often greylisting: the client must retry after a delay, which real mail servers do. Nothing to do unless a legitimate client never retries.",
		"smtpf#552", "smtppolicy")
	entryContentChanged = newEntry("ContentChanged", 450, "4.4.5",
		"try again later", nil,
		"Content greylisting: the retried message's content does not match the first attempt's, so the retry does not count. Real servers resend the same message; nothing to do.",
		"smtpf#553")
	entryMessageAccepted = newEntry("MessageAccepted", 250, "2.0.0",
		"message {id} accepted", []Param{pID},
		"The message was accepted for delivery under the queue ID given; search the log for the ID to follow it.",
		"smtpf#554")
	entryMessageRejected = newEntry("MessageRejected", 550, "5.7.1",
		"message {id} rejected", []Param{pID},
		"The message was refused at the end of DATA; search the log for the ID to find the rule.",
		"smtpf#555")
	entrySenderVerifyFailed = newEntry("SenderVerifyFailed", 550, "5.7.0",
		"sender <{sender}> verification failed", []Param{pSender},
		"Sender verification (call-back) asked the sender domain's MX about the address and it was refused (5xx) or could not be checked (4xx). The sender address is forged or its domain's mail server is broken.",
		"smtpf#572").anyCode()
	entrySIQScoreTooLow = newEntry("SIQScoreTooLow", 550, "5.7.1",
		"message rejected, SIQ score {score} too low", []Param{{"score", KindNumber}},
		"The SIQ reputation service scored the sender below the reject threshold. Check the score's reasons with the service; lower the threshold if it refuses good mail.",
		"smtpf#617")
	entryMessageSizeExceeded = newEntry("MessageSizeExceeded", 550, "5.3.4",
		"{host} [{ip}] ({size} bytes) exceeded max. message size of {max} bytes", []Param{pHost, pIP, {"size", KindNumber}, pMax},
		"The message is larger than the access map Length- limit for this client, sender or recipient. The sender must send a smaller message (a link instead of an attachment); raise the limit if needed.",
		"smtpf#625")
	// PipeliningNotAllowed is 550 5.3.3 for unauthorised pipelining (smtpf#631).
	entryPipeliningNotAllowed = newEntry("PipeliningNotAllowed", 550, "5.3.3",
		"pipelining not allowed", nil,
		"The client sent commands without waiting for replies while PIPELINING was not offered (RFC 2920): typical of spam software. Allow the client (CommandPause: 0 in the access map) if legitimate.",
		"smtpf#631", "smtpf#643")
	entryGreeting = newEntry("Greeting", 220, "",
		"{host} {e}SMTP", []Param{pHost, {"e", KindAffix}},
		"The server's one-line greeting, sent to trusted clients.",
		"smtpf#632")
	entryBanner = newEntry("Banner", 220, "",
		"{host} {e}SMTP {text}", []Param{pHost, {"e", KindAffix}, pText},
		"The server's greeting with a banner text; further banner lines may follow.",
		"smtpf#633")
	entryCommandTooLong = newEntry("CommandTooLong", 500, "5.5.2",
		"RFC 2821 max. command line length exceeded ({length})", []Param{pLength},
		"A command line is longer than the 512 octets RFC 5321 4.5.3.1.4 allows. The client is broken or hostile.",
		"smtpf#640")
	entryNonPrintableCommand = newEntry("NonPrintableCommand", 500, "5.5.2",
		"{host} [{ip}] sent non-printable characters in SMTP command", []Param{pHost, pIP},
		"SMTP commands and their arguments are printable ASCII; this client sent control or 8-bit bytes. Typical of a non-SMTP client or an attack.",
		"smtpf#641")
	// MarkedSpamBySender is 550 5.7.1 for a message the sender's filter marked as spam (smtpf#678).
	entryMarkedSpamBySender = newEntry("MarkedSpamBySender", 550, "5.7.1",
		"message was already marked as spam by sender", nil,
		"The message arrived with the sender's own spam filter headers saying it is spam. The sender's filter is the place to look.",
		"smtpf#678", "smtpf#679")
	entrySPFHeloResult = newEntry("SPFHeloResult", 550, "5.7.1",
		"HELO {helo} from {host} [{ip}] SPF result {result}; {explanation}", []Param{pHelo, pHost, pIP, {"result", KindWord}, {"explanation", KindText}},
		"The SPF check of the HELO name gave the result named (fail, softfail, temperror, permerror), and the SPF HELO policy refuses it; the code follows the result. The HELO domain's SPF record must list the client's IP.",
		"smtpf#701").anyCode()
	entrySPFMailResult = newEntry("SPFMailResult", 550, "5.7.1",
		"sender <{sender}> via {client} ({host} [{ip}]) SPF result {result}; {explanation}", []Param{pSender, {"client", KindHost}, pHost, pIP, {"result", KindWord}, {"explanation", KindText}},
		"The SPF check of the sender's domain gave the result named, and the SPF mail policy refuses it; the code follows the result. The sender's domain must list the client's IP in its SPF record, or the mail must go through the domain's own servers.",
		"smtpf#702").anyCode()
	entryURIHostNXDomain = newEntry("URIHostNXDomain", 550, "5.7.1",
		"URI host {host} in non-existant domain", []Param{pHost},
		"A link in the message points at a host in a domain that does not exist: typical of spam with throw-away domains. Allow the domain in the access map if it is a legitimate internal name.",
		"smtpf#740", "smtpf#750")
	// URINSIPInName is 550 5.7.1 for a link domain with an IP-named name server (smtpf#741).
	entryURINSIPInName = newEntry("URINSIPInName", 550, "5.7.1",
		"URI domain {domain} where NS {ns} contains IP {ip} in name", []Param{pDomain, pNS, pIP},
		"A link's domain is served by a name server whose name embeds an IP address, typical of spam hosting. Turn off the uri-ip-in-ns check if it refuses good mail.",
		"smtpf#741", "smtpf#751")
	// URINSNXDomain is 550 5.7.1 for a link domain whose name server does not exist (smtpf#743).
	entryURINSNXDomain = newEntry("URINSNXDomain", 550, "5.7.1",
		"URI domain {domain} where NS {ns} in non-existant domain", []Param{pDomain, pNS},
		"A link's domain is delegated to a name server in a domain that does not exist: broken or throw-away DNS, typical of spam.",
		"smtpf#743", "smtpf#753")
	entryURILookupTimeout = newEntry("URILookupTimeout", 550, "5.7.1",
		"URI domain {domain} lookup timeout", []Param{pDomain},
		"Looking up a link's domain timed out and the policy rejects on timeout. Turn that off if slow DNS refuses good mail.",
		"smtpf#744", "smtpf#756")
	entryURIDomainUnknownDetail = newEntry("URIDomainUnknownDetail", 550, "5.7.1",
		"URI domain {domain} does not exist ({detail})", []Param{pDomain, pDetail},
		"A link's domain does not exist in DNS (the lookup result is in parentheses). Typical of spam; allow it if it is an internal name.",
		"smtpf#745")
	entryURIDomainUnknown = newEntry("URIDomainUnknown", 550, "5.7.1",
		"URI domain {domain} does not exist", []Param{pDomain},
		"A link's domain does not exist in DNS. Typical of spam; allow it if it is an internal name.",
		"smtpf#757")
	// URIHostIP is 550 5.7.1 for a link host embedding an IP in its name or PTR (smtpf#746, smtpf#754).
	entryURIHostIP = newEntry("URIHostIP", 550, "5.7.1",
		"URI host {host} contains IP {ip} in {where}", []Param{pHost, pIP, {"where", KindWord}},
		"A link's host name embeds an IP address (in its name or PTR): a dynamic or residential host, typical of spam from infected machines. Turn off uri-ip-in-name if it refuses good mail.",
		"smtpf#746", "smtpf#754")
	// URLHostNoPTR is 550 5.7.1 for a link host without reverse DNS (smtpf#748).
	entryURLHostNoPTR = newEntry("URLHostNoPTR", 550, "5.7.1",
		"URL host {host} is missing a PTR", []Param{pHost},
		"A link's host has an address without reverse DNS and the policy requires one. Turn off uri-require-ptr if it refuses good mail.",
		"smtpf#748", "smtpf#760")
	entryURLHostIPInPTR = newEntry("URLHostIPInPTR", 550, "5.7.1",
		"URL host {host} resolves to IP {ip} in PTR {ptr}", []Param{pHost, pIP, {"ptr", KindHost}},
		"A link's host resolves to an address whose PTR name embeds the IP: a dynamic or residential host. Turn off uri-ip-in-ptr if it refuses good mail.",
		"smtpf#758")
	// URIDomainBlacklisted is 550 5.7.1 for a link domain on a URI block list (smtpf#762).
	entryURIDomainBlacklisted = newEntry("URIDomainBlacklisted", 550, "5.7.1",
		"black listed URL domain {domain} by {zone}", []Param{pDomain, pZone},
		"A link's domain is listed by the URI block list named (such as a SURBL or URIBL zone). Look the domain up on the list's site; allow it in the access map if wrongly listed.",
		"smtpf#762", "smtpf#773", "smtpf#774")
	// URIHostBlacklisted is 550 5.7.1 for a link host on a DNS block list (smtpf#776).
	entryURIHostBlacklisted = newEntry("URIHostBlacklisted", 550, "5.7.1",
		"black listed URL host {host} by {zone}", []Param{pHost, pZone},
		"A link's host address is listed by the DNS block list named. Look it up on the list's site; allow it in the access map if wrongly listed.",
		"smtpf#776", "smtpf#777")
	// URIHostRejected is 550 5.7.1 for a link host an access map Body: entry rejects (smtpf#763).
	entryURIHostRejected = newEntry("URIHostRejected", 550, "5.7.1",
		"rejected URL host {host}", []Param{pHost},
		"An access map Body: entry says REJECT for a host in a link of the message. Change the entry if the host should be allowed.",
		"smtpf#763", "smtpf#768")
	// URIHostIsIP is 550 5.7.1 for a link with a bare IP host (smtpf#765).
	entryURIHostIsIP = newEntry("URIHostIsIP", 550, "5.7.1",
		"host is an IP in URL {url}", []Param{pURL},
		"A link uses a bare IP address instead of a domain name, typical of phishing. Turn off uri-require-domain if it refuses good mail.",
		"smtpf#765", "smtpf#770")
	// BrokenURL is 550 5.7.1 for a malformed link (smtpf#766).
	entryBrokenURL = newEntry("BrokenURL", 550, "5.7.1",
		"broken URL \"{url}\": {reason}", []Param{pURL, pReason},
		"A link in the message is malformed (reason given), typical of filter-evasion tricks. Turn off uri-links-policy if it refuses good mail.",
		"smtpf#766", "smtpf#771")
	// TooManyURIs is 550 5.7.1 for a message with too many links (smtpf#781).
	entryTooManyURIs = newEntry("TooManyURIs", 550, "5.7.1",
		"max. URI per message limit exceeded", nil,
		"The message has more links than the uri-max-limit allows. Raise the limit if legitimate newsletters are refused.",
		"smtpf#781")
	// NSRejected is 550 5.7.1 for a listed name server of a domain in the message (smtpf#788).
	entryNSRejected = newEntry("NSRejected", 550, "5.7.1",
		"rejected NS {ns}, {reason}", []Param{pNS, pReason},
		"A name server of a domain in the message is listed by the URI block list checked against name servers (uri-bl-ns). Look the name server up on the list's site.",
		"smtpf#788")
	// ClientNameRejected is 550 5.7.1 for a client PTR name on a URI block list (smtpf#790).
	entryClientNameRejected = newEntry("ClientNameRejected", 550, "5.7.1",
		"rejected client {host} [{ip}], {reason}", []Param{pHost, pIP, pReason},
		"The client's PTR name is listed by a URI block list (uri-bl-ptr). Look the name up on the list's site.",
		"smtpf#790")
	// HeloNameRejected is 550 5.7.1 for a HELO name on a URI block list (smtpf#792).
	entryHeloNameRejected = newEntry("HeloNameRejected", 550, "5.7.1",
		"rejected HELO, {reason}", []Param{pReason},
		"The HELO name is listed by a URI block list (uri-bl-helo). Look the name up on the list's site.",
		"smtpf#792")
	// SenderDomainRejected is 550 5.7.1 for a sender domain on a URI block list (smtpf#794).
	entrySenderDomainRejected = newEntry("SenderDomainRejected", 550, "5.7.1",
		"rejected MAIL FROM, {reason}", []Param{pReason},
		"The sender's domain is listed by a URI block list (uri-bl-mail). Look the domain up on the list's site.",
		"smtpf#794")
)

// ScannerError is 451 4.4.0 for a failed exchange with a virus scanner
// daemon; op names the step ("connect", "read", "session write") (smtpf#151).
func ScannerError(scanner, op, detail string, errno int) Reply {
	return entryScannerError.Reply(scanner, op, detail, itoa(int64(errno)))
}

// ScannerWriteAfter is 451 4.4.0 for a scanner stream that failed after n bytes (smtpf#196).
func ScannerWriteAfter(scanner string, n int64) Reply {
	return entryScannerWriteAfter.Reply(scanner, itoa(n))
}

// ForwardSenderDenied relays a forward host's refusal of the sender with its
// code (4xx or 5xx) and X.1.0 (smtpf#282).
func ForwardSenderDenied(code int, sender string) Reply {
	return entryForwardSenderDenied.ReplyCode(code, sender)
}

// ForwardRecipientDenied relays a forward host's refusal of a recipient with
// its codes and a standard text (smtpf#300).
func ForwardRecipientDenied(code int, enhanced Enhanced, rcpt string) Reply {
	return familyCode(entryForwardRecipientDenied, code, enhanced, rcpt)
}

// ContentLineTooLong is 554 5.5.2 for a message line over 1000 octets (smtpf#321).
func ContentLineTooLong(length int64) Reply { return entryContentLineTooLong.Reply(itoa(length)) }

// IPInClientName is 550 5.7.1 for a client whose PTR name embeds its IP;
// stage is 1 at connect and 2 for a delayed check (smtpf#418, smtpf#450).
func IPInClientName(host, ip string, stage int) Reply {
	return entryIPInClientName.Reply(host, ip, itoa(int64(stage)))
}

// HeaderNotASCII is 554 5.6.0 for a raw 8-bit byte b in a header (smtpf#456).
func HeaderNotASCII(b byte) Reply {
	const hex = "0123456789ABCDEF"
	return entryHeaderNotASCII.Reply(string([]byte{hex[b>>4], hex[b&15]}))
}

// MessageRateExceeded is 451 4.7.1 for a client, sender or recipient over its
// message rate: more than max messages per period units (smtpf#475).
func MessageRateExceeded(who string, max int64, period int64, unit string) Reply {
	return entryMessageRateExceeded.Reply(who, itoa(max), plural(max), itoa(period), unit, plural(period))
}

// Greeting is the one-line 220 greeting (smtpf#632).
func Greeting(host string, esmtp bool) Reply { return entryGreeting.Reply(host, esmtpAffix(esmtp)) }

// Banner is the 220 greeting with one line of banner text; like every
// argument, control bytes in text are written as '?' (smtpf#633).
func Banner(host string, esmtp bool, text string) Reply {
	return entryBanner.Reply(host, esmtpAffix(esmtp), text)
}

func esmtpAffix(esmtp bool) string {
	if esmtp {
		return "E"
	}
	return ""
}

// SPFHeloResult refuses a HELO name by its SPF result with code (4xx for
// temperror, 5xx otherwise) and X.7.1 (smtpf#701).
func SPFHeloResult(code int, helo, host, ip, result, explanation string) Reply {
	return entrySPFHeloResult.ReplyCode(code, helo, host, ip, result, explanation)
}

// SPFMailResult refuses a sender by its SPF result with code and X.7.1 (smtpf#702).
func SPFMailResult(code int, sender, client, host, ip, result, explanation string) Reply {
	return entrySPFMailResult.ReplyCode(code, sender, client, host, ip, result, explanation)
}
