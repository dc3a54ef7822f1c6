package gomilter_test

import (
	"context"
	"fmt"

	"github.com/d--j/go-milter"

	"github.com/smtppolicy/smtppolicy/examples/gomilter"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// A filter that refuses one recipient, driven here by the library's MTA
// side as Postfix would drive it (smtpd_milters = inet:127.0.0.1:PORT).
func ExampleNew() {
	policy := &smtpcheck.Policy{
		Rcpt: func(_ context.Context, s *smtpcheck.Session) smtpcheck.Result {
			if s.Rcpt.Local == "spamtrap" {
				return smtpcheck.Refuse(reply.TransactionFailed(), smtpcheck.Reason{Check: "trap"})
			}
			return smtpcheck.Result{}
		},
	}
	if err := gomilter.CheckFacts(nil, gomilter.PostfixDefaults()); err != nil {
		fmt.Println(err) // the checks need a macro Postfix will not send
		return
	}
	f := gomilter.New(gomilter.Config{Policy: policy})
	ln, err := gomilter.Listen("inet:127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go f.Serve(ln)
	defer f.Close()

	mta := milter.NewClient("tcp", ln.Addr().String())
	s, err := mta.Session(milter.NewMacroBag())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	s.Conn("mx.client.example", milter.FamilyInet, 40000, "192.0.2.7")
	s.Helo("mx.client.example")
	s.Mail("<a@client.example>", "")
	ok, _ := s.Rcpt("<b@example.org>", "")
	trap, _ := s.Rcpt("<spamtrap@example.org>", "")
	fmt.Println(ok)
	fmt.Println(trap.SMTPReply)
	// Output:
	// Continue
	// 554 5.7.0 transaction failed
}

// A program tells, before it serves, whether its checks can run on what the
// MTA sends: here a reverse DNS check behind a Postfix whose macro lists
// are at their defaults, then with the filter's own request honoured.
func ExampleCheckFacts() {
	need := []gomilter.Fact{gomilter.FactReverseName, gomilter.FactAuth}
	fmt.Println(gomilter.CheckFacts(need, gomilter.PostfixDefaults()))
	fmt.Println(gomilter.CheckFacts(need, gomilter.PostfixDefaults().Union(gomilter.Requested())))
	// Output:
	// gomilter: the checks need facts the MTA will not send: reverse-name: add {client_ptr} {client_resolve} to milter_connect_macros
	// <nil>
}

// Listen takes the address as main.cf's smtpd_milters names it.
func ExampleListen() {
	ln, err := gomilter.Listen("inet:127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	fmt.Println(ln.Addr().Network())
	_, err = gomilter.Listen("127.0.0.1:8891")
	fmt.Println(err)
	// Output:
	// tcp
	// gomilter: "127.0.0.1:8891": want inet:HOST:PORT or unix:/path
}
