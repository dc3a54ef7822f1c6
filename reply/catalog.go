package reply

// Params used by many entries.
var (
	pHost = Param{"host", KindHost}
	pIP   = Param{"ip", KindIP}
	pRcpt = Param{"rcpt", KindAddress}
)

// The catalog table. Entries are built once when the package loads and never
// change afterwards; constructors below hand out pointers into it.
var (
	entryRelayDenied = newEntry("RelayDenied", 550, "5.7.1",
		"recipient <{rcpt}> relaying denied", []Param{pRcpt},
		"The client tried to send to a domain this server does not accept mail for, without authenticating or coming from a trusted network. Add the domain to the accepted domains if it is yours; otherwise the client is using the server as a relay and is refused on purpose.",
		"smtpf#288", "smtpf#293", "smtpf#296")
	entryInternalError = newEntry("InternalError", 451, "4.3.0",
		"internal server error", nil,
		"A check failed for a reason of this server's own (a lookup error, a store that is down, a bug). The client will retry; look in the server's log for the check that failed.",
		"smtpf#550")
	entryHostBlacklisted = newEntry("HostBlacklisted", 550, "5.7.1",
		"host {host} [{ip}] black listed", []Param{pHost, pIP},
		"An access map Connect: entry for the client's name or IP address says REJECT. Remove or change the entry if the client should be allowed.",
		"smtpf#120")
)

// catalog lists every entry, in reference order.
var catalog = []*Entry{
	entryHostBlacklisted,
	entryRelayDenied,
	entryInternalError,
}

// Catalog returns every catalog entry. The entries are shared: do not modify them.
func Catalog() []*Entry { return append([]*Entry(nil), catalog...) }

// Lookup returns the catalog entry with the given constructor name, or nil.
func Lookup(name string) *Entry {
	for _, e := range catalog {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// ByRef returns the catalog entry carrying the reference ref, such as
// "smtpf#288" or "barracuda:5XX_BLOCKED_RBL", or nil.
func ByRef(ref string) *Entry {
	for _, e := range catalog {
		if e.HasRef(ref) {
			return e
		}
	}
	return nil
}

// RelayDenied is 550 5.7.1 for a recipient in a domain this server does not
// accept mail for (smtpf#288).
func RelayDenied(rcpt string) Reply { return entryRelayDenied.Reply(rcpt) }

// InternalError is 451 4.3.0, given when a check fails for a reason of the
// server's own and the error policy is temp-fail (smtpf#550).
func InternalError() Reply { return entryInternalError.Reply() }

// HostBlacklisted is 550 5.7.1 for a client rejected by an access map Connect:
// entry (smtpf#120).
func HostBlacklisted(host, ip string) Reply { return entryHostBlacklisted.Reply(host, ip) }
