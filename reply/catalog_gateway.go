package reply

// Replies from the Barracuda Email Security Gateway's named codes (refs
// "barracuda:NAME"). The gateway's list gives only basic codes; the enhanced
// codes here are the RFC 3463 codes that fit each meaning, and Identify
// accepts these replies with or without an enhanced code.

func bcd(name string) string { return "barracuda:" + name }

var (
	entryDirectoryDeferred = newEntry("DirectoryDeferred", 400, "4.4.3",
		"Deferred: temporary directory error", nil,
		"Recipient verification against the directory (LDAP) failed temporarily. The sender's server retries; check the directory server.",
		bcd("4XX_RVERIFY_DEFER"))
	entrySuspectContentDeferred = newEntry("SuspectContentDeferred", 420, "4.7.1",
		"Deferred due to suspect content, please try again later", nil,
		"Real-time intent analysis found suspect content and defers the message to see whether reputation data changes. The sender's server retries; legitimate mail gets through later.",
		bcd("4XX_SUSPECT_REALTIME"))
	entryGatewayTimeout = newEntry("GatewayTimeout", 421, "4.4.2",
		"Error: timeout", nil,
		"The session timed out. The sender's server retries; check the network if it persists.",
		bcd("4XX_TIMEOUT"))
	entryClientDisconnected = newEntry("ClientDisconnected", 421, "4.4.2",
		"Client disconnected", nil,
		"The client dropped the connection mid-session. The message is retried by the sender's server.",
		bcd("4XX_CLIENT_DISCONNECT"))
	entryGatewayInternalClosing = newEntry("GatewayInternalClosing", 421, "4.3.0",
		"Internal error", nil,
		"The gateway hit an internal error and closes the connection. Senders retry; check the gateway's logs.",
		bcd("4XX_EINTERNAL"))
	entryReplyFailed = newEntry("ReplyFailed", 421, "4.4.2",
		"Failed to reply to client", nil,
		"The gateway could not write its reply to the client (connection broken). Senders retry.",
		bcd("4XX_ESEND"))
	entryGatewayTooManyErrors = newEntry("GatewayTooManyErrors", 421, "4.7.0",
		"Too many errors", nil,
		"The client made too many protocol errors and the gateway hangs up. Typical of address harvesting or a broken client.",
		bcd("4XX_TOO_MANY_ERRORS"))
	entryTooManyMessagesPerSession = newEntry("TooManyMessagesPerSession", 421, "4.7.0",
		"Error: too many messages in one session", nil,
		"The client sent more messages in one connection than allowed. It reconnects for the rest; raise the limit if it is a trusted server.",
		bcd("4XX_MSG_PER_SESSION"))
	entryServiceNotAvailable = newEntry("ServiceNotAvailable", 421, "4.3.0",
		"Service not available, closing transmission channel. Try again later.", nil,
		"The gateway cannot take mail right now (RFC 5321's 421). Senders retry.",
		bcd("4XX_TEMP_FAIL"))
	entryVirusScanTempFail = newEntry("VirusScanTempFail", 421, "4.3.0",
		"Temporary failure. Try again later.", nil,
		"The virus scanner failed temporarily. Senders retry; check the scanner.",
		bcd("4XX_VIRUSSCAN_TEMP_FAIL"))
	entryMailboxUnavailableTemp = newEntry("MailboxUnavailableTemp", 450, "4.2.0",
		"Requested action not taken: mailbox unavailable.", nil,
		"The recipient's mailbox is temporarily unavailable (locked, or the back-end server is down). Senders retry.",
		bcd("4XX_TEMP_RECIP"))
	entryGatewayInternalError = newEntry("GatewayInternalError", 451, "4.3.0",
		"Internal error.", nil,
		"The gateway hit an internal error. Senders retry; check the gateway's logs.",
		bcd("4XX_EINTERNAL"))
	entryLocalProcessingError = newEntry("LocalProcessingError", 451, "4.3.0",
		"Requested action aborted: local error in processing.", nil,
		"A local processing error (RFC 5321's 451 text). Senders retry; check the gateway's logs.",
		bcd("4XX_EINTERNAL"))
	entryGatewayTooManyRecipients = newEntry("GatewayTooManyRecipients", 452, "4.5.3",
		"Too many recipients.", nil,
		"The message has more recipients than the per-message limit; the client sends the rest in another transaction (RFC 5321 3.3).",
		bcd("4XX_TOO_MANY_RECIPS"))
	entryTLSTempUnavailable = newEntry("TLSTempUnavailable", 454, "4.7.0",
		"TLS not available due to temporary reason.", nil,
		"STARTTLS cannot start now (RFC 3207 454). The client retries or sends without TLS; check the gateway's certificate setup.",
		bcd("4XX_TLS_TEMP_FAIL"))
	entryRateFromOrigin = newEntry("RateFromOrigin", 454, "4.7.0",
		"Too many connections from origin (rate control).", nil,
		"The client's IP went over the gateway's rate-control limit. It retries later; exempt it if it is a trusted server.",
		bcd("4XX_BLOCKED_RATE"))
	entryRateToServer = newEntry("RateToServer", 454, "4.7.0",
		"Too many connections to server (rate control).", nil,
		"The gateway as a whole is over its connection rate limit. Senders retry later.",
		bcd("4XX_BLOCKED_RATE2"))
	entryCommandUnrecognized = newEntry("CommandUnrecognized", 500, "5.5.1",
		"Syntax error, command unrecognized.", nil,
		"The client sent something that is not an SMTP command (RFC 5321's 500). The client is broken or not an SMTP client.",
		bcd("4XX_SYNTAX_ERROR"))
	entryInvalidCharacter = newEntry("InvalidCharacter", 500, "5.5.2",
		"Syntax error - invalid character.", nil,
		"A recipient address holds a character not allowed in addresses. The sender must correct it.",
		bcd("5XX_INVALID_CHAR_RECIP"))
	entryParameterSyntax = newEntry("ParameterSyntax", 501, "5.5.4",
		"Syntax error in parameters or arguments.", nil,
		"A command's arguments are malformed (RFC 5321's 501), often an invalid address. The client must correct the command.",
		bcd("5XX_INVALID_PARAM"))
	entryAuthMalformed = newEntry("AuthMalformed", 501, "5.5.2",
		"Malformed authentication input.", nil,
		"The AUTH data is not valid base64 or not in the mechanism's form. The client is broken.",
		bcd("5XX_AUTH_MALFORMED"))
	entryAuthResponseMalformed = newEntry("AuthResponseMalformed", 501, "5.5.2",
		"Error: malformed authentication response.", nil,
		"The client's answer to the AUTH challenge could not be decoded. The client is broken.",
		bcd("5XX_AUTH_RESPONSE_BAD"))
	entryDataLineTooLong = newEntry("DataLineTooLong", 501, "5.5.2",
		"Command line too long or no terminating CRLF in line buffer.", nil,
		"A line was longer than the line buffer or never ended with CRLF. The client is broken or sends bare LF.",
		bcd("5XX_DATA_LINE_TOO_LONG"))
	entryMissingCRLF = newEntry("MissingCRLF", 501, "5.5.2",
		"No terminating CRLF in line buffer.", nil,
		"A line did not end with CRLF (RFC 5321 2.3.8). The client sends bare LF or bare CR and must be fixed.",
		bcd("5XX_DATA_MISSING_CRLF"))
	entryCommandNotSupported = newEntry("CommandNotSupported", 502, "5.5.1",
		"This command is not implemented.", nil,
		"The command is not supported by the gateway. The client must do without it.",
		bcd("5XX_NO_SUCH_COMMAND"))
	entryStartTLSBeforeAuth = newEntry("StartTLSBeforeAuth", 503, "5.7.0",
		"Issue STARTTLS first before using clear text password.", nil,
		"The client tried plain-text AUTH without TLS. Configure it to use STARTTLS first.",
		bcd("5XX_AUTH_REQUIRES_TLS"))
	entryBadAuthSequence = newEntry("BadAuthSequence", 503, "5.5.1",
		"Bad sequence of authentication commands - Try the following: AUTH CRAM-MD5, AUTH LOGIN.", nil,
		"The AUTH exchange went out of order or used a mechanism not offered. Configure the client for CRAM-MD5 or LOGIN.",
		bcd("5XX_BAD_AUTH_COMMAND_SEQ"))
	entryBadSequence = newEntry("BadSequence", 503, "5.5.1",
		"Bad sequence of commands.", nil,
		"A command came out of order (RFC 5321's 503). The client is broken or pipelining wrongly.",
		bcd("5XX_BAD_COMMAND_SEQ"))
	entryNeedFQDN = newEntry("NeedFQDN", 504, "5.5.2",
		"Need Fully Qualified Address (FQDN).", nil,
		"An address or HELO name lacks a full domain. The sender must use a fully-qualified address.",
		bcd("5XX_NEED_FQDN"))
	entryParameterNotImplemented = newEntry("ParameterNotImplemented", 504, "5.5.4",
		"Command parameter not implemented.", nil,
		"A command parameter is not supported (RFC 5321's 504). The client uses an extension not offered.",
		bcd("5XX_ERROR_PARAM"))
	entryAuthMechanismUnsupported = newEntry("AuthMechanismUnsupported", 504, "5.5.4",
		"Error: unsupported mechanism.", nil,
		"The AUTH mechanism is not offered. Configure the client for one listed in the EHLO reply.",
		bcd("5XX_AUTH_UNSUPPORTED"))
	entryAuthTypeUnrecognized = newEntry("AuthTypeUnrecognized", 504, "5.5.4",
		"Unrecognized authentication type.", nil,
		"The AUTH mechanism is unknown (RFC 4954 504). Configure the client for one listed in the EHLO reply.",
		bcd("5XX_AUTH_TYPE"))
	entryAuthRequired = newEntry("AuthRequired", 530, "5.7.0",
		"Authentication required.", nil,
		"The gateway requires AUTH before accepting mail (RFC 4954 530). Configure the client with credentials.",
		bcd("5XX_AUTH_REQUIRES_TLS"))
	entryRecipientAddressRejected = newEntry("RecipientAddressRejected", 550, "5.7.1",
		"Recipient email address rejected.", nil,
		"A recipient block rule refused the address. Check the gateway's recipient block list.",
		bcd("5XX_BLOCKED_RECIP"))
	entryBlockedIP = newEntry("BlockedIP", 550, "5.7.1",
		"Blocked IP address.", nil,
		"The client's IP is on the gateway's IP block list. Remove it if the client should be allowed.",
		bcd("5XX_BLOCKED_IP"))
	entrySenderRejectedPlain = newEntry("SenderRejectedPlain", 550, "5.7.1",
		"Sender Rejected.", nil,
		"A sender block rule refused the sender. Check the gateway's sender block list.",
		bcd("5XX_BLOCKED_SENDER2"))
	entrySenderAddressRejected = newEntry("SenderAddressRejected", 550, "5.7.1",
		"Sender email address rejected.", nil,
		"A sender block rule refused the sender's address. Check the gateway's sender block list.",
		bcd("5XX_BLOCKED_SENDER3"))
	entryNoSuchDomain = newEntry("NoSuchDomain", 550, "5.1.2",
		"No such domain at this location.", nil,
		"The recipient's domain is not one the gateway accepts mail for. Add the domain to the gateway if it is yours; otherwise the sender has the wrong address or MX.",
		bcd("5XX_INVALID_DOMAIN"))
	entryHangup = newEntry("Hangup", 550, "5.7.1",
		"Executing hangup request.", nil,
		"A rule ordered the gateway to drop the connection. Find the rule in the gateway's policy.",
		bcd("5XX_HANGUP"))
	entryDiscard = newEntry("Discard", 550, "5.7.1",
		"Executing discard request.", nil,
		"A rule ordered the gateway to discard the message. Find the rule in the gateway's policy.",
		bcd("5XX_DISCARD"))
	entryEmptySenderNotAllowed = newEntry("EmptySenderNotAllowed", 550, "5.7.1",
		"Empty envelope senders not allowed.", nil,
		"The gateway refuses the null sender <>. RFC 5321 4.5.5 requires accepting bounces; turn this rule off unless you know you receive none.",
		bcd("5XX_EMPTY_SENDER"))
	entryInvalidSender = newEntry("InvalidSender", 550, "5.1.7",
		"Invalid sender address.", nil,
		"The sender address is malformed or fails the gateway's sender checks. The sending software must use a valid address.",
		bcd("5XX_INVALID_SENDER2"))
	entrySenderIPRejected = newEntry("SenderIPRejected", 550, "5.7.1",
		"Sender IP address rejected.", nil,
		"The client's IP is refused by a block rule. Remove it if the client should be allowed.",
		bcd("5XX_BLOCKED_IP2"))
	entrySPFRejected = newEntry("SPFRejected", 550, "5.7.23",
		"Rejecting for Sender Policy Framework (SPF).", nil,
		"The sender's domain SPF record does not list the client's IP (RFC 7208 fail). The sender's domain must add its outgoing servers to its SPF record.",
		bcd("5XX_SPF_FAIL"))
	entryMailboxUnavailable = newEntry("MailboxUnavailable", 550, "5.1.1",
		"Requested action not taken: mailbox unavailable.", nil,
		"The recipient's mailbox does not exist or is refused (RFC 5321's 550). The sender must check the address.",
		bcd("5XX_RECIP"))
	// SpoofedMessage is 550 5.7.1 for a message spoofing our own domain (barracuda:5XX_SPOOFED).
	entrySpoofedMessage = newEntry("SpoofedMessage", 550, "5.7.1",
		"Rejecting spoofed message.", nil,
		"The message claims to come from one of the gateway's own domains but arrived from outside (anti-spoofing). Allow the sending server if it sends for your domain legitimately.",
		bcd("5XX_SPOOFED"))
	entryMessageTooLarge = newEntry("MessageTooLarge", 552, "5.3.4",
		"Error: message too large.", nil,
		"The message is larger than the gateway's limit. The sender must send a smaller message.",
		bcd("5XX_MSG_SIZE"))
	// MessageTooBig is 552 5.3.4 for a message over the size limit, the reply
	// smtppolicy's size check gives (barracuda:5XX_MSG_SIZE2).
	entryMessageTooBig = newEntry("MessageTooBig", 552, "5.3.4",
		"Message size exceeds fixed limit", nil,
		"The message is larger than the size limit (RFC 1870 SIZE). The sender must send a smaller message, a link instead of a big attachment; raise the limit if such mail is expected.",
		bcd("5XX_MSG_SIZE2"), "smtppolicy")
	entryMailboxNameNotAllowed = newEntry("MailboxNameNotAllowed", 553, "5.1.3",
		"Requested action not taken: mailbox name not allowed.", nil,
		"The recipient address is not allowed (RFC 5321's 553): malformed, or refused by a rule. The sender must check the address.",
		bcd("5XX_FAIL_RECIP"), bcd("5XX_INVALID_RECIP"))
	entryActionNotTaken = newEntry("ActionNotTaken", 553, "5.0.0",
		"Requested action not taken.", nil,
		"The command was refused without detail. Look in the gateway's message log for the rule.",
		bcd("5XX_NO_ACTION"))
	entryVirusRejected = newEntry("VirusRejected", 554, "5.7.1",
		"Rejected due to virus.", nil,
		"The virus scanner found a virus. The sender must clean their system; nothing to change on the gateway.",
		bcd("5XX_BLOCKED_VIRUS"))
	// SpamRejected is 554 5.7.1 for spam content (barracuda:5XX_BLOCKED_SPAM).
	entrySpamRejected = newEntry("SpamRejected", 554, "5.7.1",
		"Rejected due to spam content.", nil,
		"The spam score was over the block threshold. Check the score's reasons in the message log; allow the sender if it is a false positive.",
		bcd("5XX_BLOCKED_SPAM"))
	entryNoPTRBlocked = newEntry("NoPTRBlocked", 554, "5.7.1",
		"IP name lookup failed. No PTR record found for the given IP address.", nil,
		"The client's IP has no reverse DNS and the gateway requires it. The client's operator must add a PTR record.",
		bcd("5XX_BLOCKED_NO_PTR"))
	entryRBLBlocked = newEntry("RBLBlocked", 554, "5.7.1",
		"Service unavailable; client host blocked{text}", []Param{pText},
		"The client's IP or sending domain is on a real-time block list the gateway uses. Look it up on the lists; allow it on the gateway if wrongly listed.",
		bcd("5XX_BLOCKED_RBL"))
	entryBannedAttachment = newEntry("BannedAttachment", 554, "5.7.1",
		"Rejecting banned file attachment.", nil,
		"The message carries an attachment type the gateway's policy bans. The sender must send it another way; change the attachment policy if the type is wanted.",
		bcd("5XX_BLOCKED_ATT"))
	entryEncryptedAttachment = newEntry("EncryptedAttachment", 554, "5.7.1",
		"Rejecting password protected file attachment.", nil,
		"The message carries a password-protected archive the scanner cannot inspect. The sender must send it another way; change the policy if such files are wanted.",
		bcd("5XX_BLOCKED_ATT_ENC"))
	entryReputationBlocked = newEntry("ReputationBlocked", 554, "5.7.1",
		"Service unavailable; Client host [{host}] blocked using Barracuda Reputation; {url}", []Param{{"host", KindText}, pURL},
		"The client's IP is on the Barracuda Reputation block list. The client's operator requests removal at the URL given.",
		bcd("5XX_BLOCKED_BBL"))
	entryBannedContent = newEntry("BannedContent", 554, "5.7.1",
		"Rejected due to banned content.", nil,
		"A content or data-loss-prevention rule matched the message. Find the rule in the gateway's content policy.",
		bcd("5XX_BLOCKED_DLP"), bcd("5XX_BLOCKED_SPAM2"))
)
