package reply

// CodeInfo explains a basic reply code: what it means and what the sending
// side should do.
type CodeInfo struct {
	Code     int
	Meaning  string
	Advice   string
	Standard bool // defined by RFC 5321 or an SMTP extension RFC; false for codes only some products send
}

// LookupCode returns the explanation of a basic reply code. Codes without an
// entry of their own get the explanation of their class (such as 4xx), with
// ok false.
func LookupCode(code int) (info CodeInfo, ok bool) {
	lo, hi := 0, len(basicCodes)
	for lo < hi {
		m := (lo + hi) / 2
		if basicCodes[m].Code < code {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(basicCodes) && basicCodes[lo].Code == code {
		return basicCodes[lo], true
	}
	switch code / 100 {
	case 1:
		return CodeInfo{code, "A 1xx code, which SMTP does not use (RFC 5321 4.2.1); some mail clients show one for a failed connection.", "Check the server name, port and network path, then retry.", false}, false
	case 2:
		return CodeInfo{code, "Success: the command was completed.", "Nothing to do.", false}, false
	case 3:
		return CodeInfo{code, "Intermediate: the server waits for more input.", "Send the rest of the command's data.", false}, false
	case 4:
		return CodeInfo{code, "A transient failure: the command was not done, but may succeed later.", "Keep the message queued and retry later.", false}, false
	case 5:
		return CodeInfo{code, "A permanent failure: the command will not succeed as sent.", "Do not retry unchanged; return the message to its sender with the reply text.", false}, false
	}
	return CodeInfo{code, "Not an SMTP reply code.", "", false}, false
}

// basicCodes is sorted by code. Meanings come from RFC 5321 4.2.2-4.2.3 and
// the extension RFCs named, and from the code guides of widely deployed
// servers for the non-standard codes.
var basicCodes = []CodeInfo{
	{101, "The server could not be connected to (a client-side code, not sent by servers).", "Check the server name for typos and the port number; then retry.", false},
	{111, "Connection refused, or an SMTP stream could not be opened (a client-side code).", "Check firewalls, the server name and port, and that the server runs; then retry.", false},
	{211, "System status, or a help reply (RFC 5321).", "Informational; nothing to do.", true},
	{214, "A help message, the answer to HELP (RFC 5321).", "Informational; nothing to do.", true},
	{220, "The service is ready: the greeting, or the answer to STARTTLS (RFC 5321, RFC 3207).", "Proceed with EHLO (or the TLS handshake).", true},
	{221, "The service is closing the connection, usually after QUIT (RFC 5321).", "Nothing to do; the session is over.", true},
	{235, "Authentication succeeded (RFC 4954).", "Proceed with MAIL FROM.", true},
	{250, "The requested action was completed (RFC 5321).", "Proceed; for a message, it is now the receiving server's responsibility.", true},
	{251, "User not local; the server will forward to the path given (RFC 5321).", "Nothing to do; the server relays the message.", true},
	{252, "The server cannot verify the user but will accept the message and attempt delivery (RFC 5321).", "Proceed; verification is not available.", true},
	{334, "The server waits for the next piece of an AUTH exchange (RFC 4954).", "Send the next authentication response.", true},
	{354, "Start the message input; end it with <CRLF>.<CRLF> (RFC 5321).", "Send the message data.", true},
	{400, "A transient failure without a more precise code (sent by some gateways).", "Keep the message queued and retry later.", false},
	{420, "A timeout or connection problem, or content deferred as suspect (non-standard: GroupWise, some gateways).", "Retry later; if it persists, ask the receiving site whether its firewall or filter blocks you.", false},
	{421, "The service is not available and the connection is closing: too many connections, a shutdown, or a policy (RFC 5321).", "Retry later; if it repeats for hours, check whether your IP is rate-limited or blocked.", true},
	{422, "The recipient's mailbox is over its storage limit (non-standard).", "Retry later, and tell the recipient by another channel to free space.", false},
	{431, "The receiving server is out of disk space or memory (non-standard).", "Retry later, sending in smaller batches.", false},
	{432, "The recipient's Exchange server has stopped its incoming queue (non-standard, Microsoft Exchange).", "Retry later; the receiving site must restart its queue.", false},
	{441, "The recipient's server is not responding (non-standard).", "Retry later; the sending server does so on its own.", false},
	{442, "The connection was dropped during the transfer (non-standard).", "Retry; check your network (router, firewall) if it repeats.", false},
	{444, "A temporary refusal with a non-standard code (Postfix access maps can be told to send any 4xx).", "Retry later.", false},
	{446, "The maximum hop count was exceeded: a mail loop (non-standard).", "Retry only after the loop in the forwarding setup is found and fixed.", false},
	{447, "The message timed out on the receiving side, often from too many recipients (non-standard).", "Retry with the recipient list split into smaller parts.", false},
	{449, "A routing error (non-standard, Microsoft Exchange).", "Retry later; the receiving site must check its routing.", false},
	{450, "The mailbox is unavailable for now (busy, locked), or a policy defers the message (RFC 5321).", "Retry later; a greylisting server accepts the retry.", true},
	{451, "The action was aborted: a local error in processing, or a policy deferral (RFC 5321).", "Retry later; if it persists, the receiving site has a problem to fix.", true},
	{452, "Insufficient system storage, or too many recipients in this transaction (RFC 5321).", "Retry later; for too many recipients, send the rest in another transaction (RFC 5321 3.3).", true},
	{454, "TLS or authentication is temporarily unavailable (RFC 3207, RFC 4954), or a temporary refusal.", "Retry later, or without TLS if your policy allows.", true},
	{455, "The server cannot accommodate the parameters now (RFC 5321 MAIL/RCPT parameters).", "Retry later.", true},
	{458, "The ETRN queue run could not start (RFC 1985).", "Retry the ETRN later.", true},
	{471, "An error of the mail server, often its own anti-spam filter (non-standard).", "Retry later; ask the receiving site's postmaster if it persists.", false},
	{500, "Syntax error: the command was not recognised, or the line was too long (RFC 5321).", "Fix the client; a firewall or antivirus rewriting SMTP can also cause this.", true},
	{501, "Syntax error in the command's parameters or arguments, often an invalid address (RFC 5321).", "Fix the address or arguments; do not retry unchanged.", true},
	{502, "The command is not implemented (RFC 5321).", "Do without the command or use another.", true},
	{503, "Bad sequence of commands, or authentication is required first (RFC 5321).", "Send the commands in order (EHLO, MAIL, RCPT, DATA); authenticate if required.", true},
	{504, "A command parameter is not implemented (RFC 5321).", "Do without the parameter or extension.", true},
	{510, "Bad email address (non-standard; 550 5.1.1 is the standard form).", "Check the recipient addresses for typos.", false},
	{511, "Bad email address (non-standard; 550 5.1.1 is the standard form).", "Check the recipient addresses for typos.", false},
	{512, "The recipient's domain could not be found in DNS (non-standard).", "Check the domain part of the addresses for typos.", false},
	{513, "Address type is incorrect, or authentication is required (non-standard).", "Check the addresses; if they are right, configure authentication.", false},
	{521, "The host does not accept mail (RFC 7504), or the server refuses this client and hangs up.", "Do not retry; the domain or host receives no mail from you.", true},
	{523, "The message is larger than the recipient server accepts (non-standard).", "Send it smaller or to fewer recipients at once.", false},
	{530, "Authentication or STARTTLS is required first (RFC 4954, RFC 3207); sometimes used for blocks.", "Configure STARTTLS and credentials; if they are set, check whether you are blocked.", true},
	{534, "The authentication mechanism is too weak (RFC 4954).", "Use a stronger mechanism or TLS.", true},
	{535, "The authentication credentials are invalid (RFC 4954).", "Check the user name and password.", true},
	{538, "Encryption is required for the requested authentication mechanism (RFC 4954).", "Use STARTTLS before AUTH.", true},
	{541, "The recipient's server rejected the message, usually its anti-spam filter (non-standard).", "Do not retry unchanged; ask the recipient to allow you.", false},
	{550, "The action was not taken: the mailbox is unavailable (unknown user) or a policy refuses the message (RFC 5321).", "Do not retry unchanged; check the address, and read the text for a policy reason.", true},
	{551, "User not local; the server does not relay (RFC 5321).", "Send to the address the server gives, or through your own provider.", true},
	{552, "The action was aborted: storage allocation exceeded, usually message size or a full mailbox (RFC 5321).", "Send a smaller message; a full mailbox needs the recipient to free space.", true},
	{553, "The mailbox name is not allowed: invalid syntax or refused (RFC 5321).", "Check the address for errors.", true},
	{554, "The transaction failed, or no SMTP service here; often a block-list or spam verdict (RFC 5321).", "Do not retry unchanged; read the text, check block lists for your IP.", true},
	{555, "MAIL FROM or RCPT TO parameters are not recognised or not implemented (RFC 5321).", "Send without the parameters.", true},
	{556, "The domain does not accept mail: it has a null MX (RFC 7504, RFC 7505).", "Do not retry; use another address.", true},
}
