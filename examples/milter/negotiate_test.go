package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/d--j/go-milter"
)

// TestMTAWaitsOnlyWhereThePolicyMayRefuse checks what the program asks the
// MTA for at option negotiation: with the default policy (delayed
// rejection) the MTA awaits a reply at RCPT and end of message only; a
// -config file's smtpd_delay_reject = no has it await the stages whose
// checks refuse at once; with -no-policy it sends nothing but the end of
// message; under -dry-run it sends every event and awaits no reply before
// the end of message.
func TestMTAWaitsOnlyWhereThePolicyMayRefuse(t *testing.T) {
	dir := t.TempDir()
	file := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	lists := "smtpd_helo_restrictions = reject_invalid_helo_hostname\nsmtpd_data_restrictions = reject_unauth_pipelining\n"
	delayed := file("delayed.cf", lists)
	atOnce := file("at-once.cf", "smtpd_delay_reject = no\n"+lists)
	for _, tc := range []struct {
		args          []string
		sent, awaited string
	}{
		{nil, "connect helo mail rcpt data header body", "rcpt"},
		{[]string{"-no-policy"}, "", ""},
		{[]string{"-dry-run"}, "connect helo mail rcpt data header body", ""},
		{[]string{"-config", delayed}, "connect helo mail rcpt data", "rcpt"},
		{[]string{"-config", atOnce}, "connect helo mail rcpt data", "helo rcpt data"},
	} {
		t.Run(strings.Join(append([]string{"default"}, tc.args...), " "), func(t *testing.T) {
			devnull, _ := os.Open(os.DevNull)
			defer devnull.Close()
			f, ln, err := setup(append([]string{"-listen", "inet:127.0.0.1:0"}, tc.args...), devnull)
			if err != nil {
				t.Fatal(err)
			}
			go f.Serve(ln)
			defer f.Close()
			s, err := milter.NewClient("tcp", ln.Addr().String(), milter.WithActions(milter.AllClientSupportedActionMasks)).Session(milter.NewMacroBag())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if sent, awaited := negotiated(s); sent != tc.sent || awaited != tc.awaited {
				t.Fatalf("MTA sends %q and awaits %q, want %q and %q", sent, awaited, tc.sent, tc.awaited)
			}
		})
	}
}

// negotiated describes what the MTA agreed with the filter: the stages it
// sends and those where it awaits the filter's reply (end of message
// always).
func negotiated(s *milter.ClientSession) (sent, awaited string) {
	var ev, re []string
	for _, st := range []struct {
		name      string
		no, noRep milter.OptProtocol
	}{
		{"connect", milter.OptNoConnect, milter.OptNoConnReply},
		{"helo", milter.OptNoHelo, milter.OptNoHeloReply},
		{"mail", milter.OptNoMailFrom, milter.OptNoMailReply},
		{"rcpt", milter.OptNoRcptTo, milter.OptNoRcptReply},
		{"data", milter.OptNoData, milter.OptNoDataReply},
		{"header", milter.OptNoHeaders, milter.OptNoHeaderReply},
		{"body", milter.OptNoBody, milter.OptNoBodyReply},
		{"eoh", milter.OptNoEOH, milter.OptNoEOHReply},
	} {
		if s.ProtocolOption(st.no) {
			continue
		}
		ev = append(ev, st.name)
		if !s.ProtocolOption(st.noRep) {
			re = append(re, st.name)
		}
	}
	return strings.Join(ev, " "), strings.Join(re, " ")
}
