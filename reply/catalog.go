//go:generate go run gen.go

package reply

import "strconv"

// Parameters shared by many entries.
var (
	pHost    = Param{"host", KindHost}
	pIP      = Param{"ip", KindIP}
	pRcpt    = Param{"rcpt", KindAddress}
	pSender  = Param{"sender", KindAddress}
	pHelo    = Param{"helo", KindText}
	pDomain  = Param{"domain", KindHost}
	pZone    = Param{"zone", KindWord}
	pReason  = Param{"reason", KindText}
	pText    = Param{"text", KindText}
	pDetail  = Param{"detail", KindText}
	pCommand = Param{"command", KindWord}
	pClient  = Param{"client", KindText}
	pID      = Param{"id", KindWord}
	pURL     = Param{"url", KindText}
	pNS      = Param{"ns", KindHost}
	pScanner = Param{"scanner", KindWord}
	pErrno   = Param{"errno", KindNumber}
	pMax     = Param{"max", KindNumber}
	pCount   = Param{"count", KindNumber}
	pLength  = Param{"length", KindNumber}
	pWait    = Param{"wait", KindNumber}
)

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
// "smtpf#288" or "barracuda:5XX_BLOCKED_RBL", or nil. A reference carried by
// several entries ("postfix", "barracuda:4XX_EINTERNAL" names three replies)
// returns the first; use ByRefAll for all of them.
func ByRef(ref string) *Entry {
	for _, e := range catalog {
		if e.HasRef(ref) {
			return e
		}
	}
	return nil
}

// ByRefAll returns every catalog entry carrying the reference ref.
func ByRefAll(ref string) []*Entry {
	var out []*Entry
	for _, e := range catalog {
		if e.HasRef(ref) {
			out = append(out, e)
		}
	}
	return out
}

// itoa formats a number argument. Numbers below 100 come from strconv's
// static table and do not allocate.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// plural returns "s" unless n is 1.
func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// familyCode builds a reply of a family entry with the enhanced code, when
// given, taking its subject and detail from enh (the forward host's own).
func familyCode(e *Entry, code int, enh Enhanced, args ...string) Reply {
	r := e.ReplyCode(code, args...)
	if !enh.IsZero() && !r.enh.IsZero() {
		r.enh.Subject, r.enh.Detail = enh.Subject, enh.Detail
	}
	return r
}
