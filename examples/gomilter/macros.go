package gomilter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/d--j/go-milter"
)

// Fact is a session fact a policy may need that reaches a milter only as a
// macro (or not at all). The facts every milter gets from the protocol's
// own events (client address and port, verified client name, HELO, sender,
// recipients, header and body) need none.
type Fact uint8

// Facts, with the macros that carry them (see the package doc's table).
const (
	// FactReverseName: the client's reverse name whether or not it is
	// forward-confirmed, and a temporary lookup failure told apart from
	// "no name" ({client_ptr}, {client_resolve}; connect). Checks on the
	// client's reverse DNS need it.
	FactReverseName Fact = iota + 1
	// FactAuth: the SASL identity ({auth_authen}; MAIL), for the checks
	// that skip authenticated clients.
	FactAuth
	// FactTLS: the TLS version ({tls_version}; HELO).
	FactTLS
	// FactQueueID: the MTA's queue ID ({i}; MAIL on), which becomes the
	// session ID of the decision log lines, so they match the MTA's.
	FactQueueID
	// FactLocal: the address the client connected to ({daemon_addr},
	// {daemon_port}; connect).
	FactLocal
	// FactProtocol: how the client speaks SMTP (talking before the
	// greeting, pipelining without PIPELINING). No MTA sends it to a
	// milter: a policy that needs it cannot run behind one (Postfix's
	// postscreen does these tests).
	FactProtocol
)

var factNames = [...]string{"", "reverse-name", "auth", "tls", "queue-id", "local-address", "protocol"}

// String returns the fact's name, such as "reverse-name".
func (f Fact) String() string {
	if int(f) < len(factNames) && f != 0 {
		return factNames[f]
	}
	return fmt.Sprintf("fact(%d)", uint8(f))
}

// MacroStage is a milter macro list, named as Postfix names its parameter:
// "connect" is milter_connect_macros, and so on.
type MacroStage string

// Macro lists, in the order of the conversation.
const (
	MacrosConnect   MacroStage = "connect"
	MacrosHelo      MacroStage = "helo"
	MacrosMail      MacroStage = "mail"
	MacrosRcpt      MacroStage = "rcpt"
	MacrosData      MacroStage = "data"
	MacrosEndOfHdr  MacroStage = "end_of_header"
	MacrosEndOfData MacroStage = "end_of_data"
)

// Param returns the Postfix parameter that lists the stage's macros, such
// as "milter_connect_macros".
func (s MacroStage) Param() string { return "milter_" + string(s) + "_macros" }

func (s MacroStage) wire() milter.MacroStage {
	switch s {
	case MacrosConnect:
		return milter.StageConnect
	case MacrosHelo:
		return milter.StageHelo
	case MacrosMail:
		return milter.StageMail
	case MacrosRcpt:
		return milter.StageRcpt
	case MacrosData:
		return milter.StageData
	case MacrosEndOfHdr:
		return milter.StageEOH
	}
	return milter.StageEOM
}

// MacroLists are the macro names an MTA sends, per stage.
type MacroLists map[MacroStage][]string

// PostfixDefaults returns the macro lists of Postfix 3.7 left at their
// defaults (postconf -d milter_connect_macros ...).
func PostfixDefaults() MacroLists {
	return MacroLists{
		MacrosConnect:   {"j", "{daemon_name}", "{daemon_addr}", "v", "_"},
		MacrosHelo:      {"{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}"},
		MacrosMail:      {"i", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}", "{mail_mailer}"},
		MacrosRcpt:      {"i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"},
		MacrosData:      {"i"},
		MacrosEndOfHdr:  {"i"},
		MacrosEndOfData: {"i"},
	}
}

// ParseMacroList splits a milter_*_macros value as Postfix does (blanks and
// commas separate names).
func ParseMacroList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\n' })
}

// factMacros returns where a fact comes from: the stage and the macros,
// all of which must be sent. FactProtocol has none.
func factMacros(f Fact) (MacroStage, []string) {
	switch f {
	case FactReverseName:
		return MacrosConnect, []string{"{client_ptr}", "{client_resolve}"}
	case FactAuth:
		return MacrosMail, []string{"{auth_authen}"}
	case FactTLS:
		return MacrosHelo, []string{"{tls_version}"}
	case FactQueueID:
		return MacrosMail, []string{"i"}
	case FactLocal:
		return MacrosConnect, []string{"{daemon_addr}", "{daemon_port}"}
	}
	return "", nil
}

// Requested returns the macro lists the filter asks the MTA for during
// option negotiation (SMFIR_SETSYMLIST): the macros it reads, and no
// other, as each costs the MTA its lookup and encoding on every event it
// goes with. Postfix (milter_protocol 6, its default) and Sendmail 8.14
// replace their configured lists with these for this filter, so every
// fact but FactProtocol then arrives whatever milter_*_macros say. The
// sender and the recipients are their events'; the queue ID goes with RCPT, DATA and
// the end of message, as Postfix may assign it only at the first
// accepted recipient (the end of header is not sent: SMFIP_NOEOH).
func Requested() MacroLists {
	return MacroLists{
		MacrosConnect:   {"{client_name}", "{client_ptr}", "{client_resolve}", "{daemon_addr}", "{daemon_port}"},
		MacrosHelo:      {"{tls_version}"},
		MacrosMail:      {"i", "{auth_authen}"},
		MacrosRcpt:      {"i"},
		MacrosData:      {"i"},
		MacrosEndOfData: {"i"},
	}
}

// CheckFacts reports, in one error, each fact in need that the macro lists
// sent leave out, naming the macros to add and the parameter to add them
// to. A program calls it at start-up, so that a check never runs on a fact
// the MTA does not send (it would see "unknown" and decide on that). Nil
// sent means Postfix's defaults.
func CheckFacts(need []Fact, sent MacroLists) error {
	if sent == nil {
		sent = PostfixDefaults()
	}
	var problems []string
	for _, f := range need {
		st, names := factMacros(f)
		if st == "" {
			problems = append(problems, fmt.Sprintf("%s: no MTA sends it to a milter (use Postfix's postscreen for it)", f))
			continue
		}
		var missing []string
		for _, n := range names {
			if !slices.Contains(sent[st], n) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("%s: add %s to %s", f, strings.Join(missing, " "), st.Param()))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("gomilter: the checks need facts the MTA will not send: %s", strings.Join(problems, "; "))
}

// Union returns the lists of l and o together, each name once.
func (l MacroLists) Union(o MacroLists) MacroLists {
	out := MacroLists{}
	for _, m := range []MacroLists{l, o} {
		for st, names := range m {
			for _, n := range names {
				if !slices.Contains(out[st], n) {
					out[st] = append(out[st], n)
				}
			}
		}
	}
	return out
}
