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
