package smtpcheck

import "github.com/smtppolicy/smtppolicy/reply"

// The catalog's generic replies for verdicts that carry none of their own.
func catalogReply(ref string) reply.Reply {
	if e := reply.ByRef(ref); e != nil {
		return e.Reply()
	}
	return reply.InternalError()
}
