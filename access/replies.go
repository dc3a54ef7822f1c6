package access

import "github.com/smtppolicy/smtppolicy/reply"

// Seed references of the catalog replies the access map and its limits give.
const (
	refConnectReject     = "smtpf#120" // host %s [%s] black listed
	refConnectFromReject = "smtpf#125" // host %s [%s] sender <%s> black listed
	refFromReject        = "smtpf#127" // sender <%s> black listed
	refConnectToReject   = "smtpf#135" // host %s [%s] recipient <%s> black listed
	refFromToReject      = "smtpf#137" // sender <%s> recipient <%s> black listed
	refToReject          = "smtpf#139" // recipient <%s> black listed
	refGenericReject     = "smtpf#306" // transaction failed
	refTempFail          = "smtpf#552" // try again later
	refConcurrent        = "smtpf#329" // client %s [%s] too many concurrent connections, max=%ld
	refRateConnect       = "smtpf#522" // client %s [%s] connections %ld exceed %ld/60s
	refMsgLimit          = "smtpf#475" // %s has exceeded %ld message%s per %ld %s%s
	refLength            = "smtpf#625" // %s [%s] (%lu bytes) exceeded max. message size of %lu bytes
	refNullRate          = "smtpf#505" // null-sender messages %ld for <%s> exceed %ld/60s
)

// catalogReply builds the catalog reply with seed reference ref. A missing
// entry is a build defect the package tests catch; at run time it degrades
// to the catalog's internal error rather than an uncatalogued reply.
func catalogReply(ref string, args ...string) reply.Reply {
	if e := reply.ByRef(ref); e != nil {
		return e.Reply(args...)
	}
	return reply.InternalError()
}
