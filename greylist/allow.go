package greylist

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

//go:embed largesenders.txt
var largeSendersFile []byte

// LargeSenders returns the shipped list of large senders that retry from
// other addresses (largesenders.txt in this package, documented there):
// domains matched against the client's forward-confirmed names. The slice
// is new on each call.
func LargeSenders() []string {
	d, err := ParseDomainList(bytes.NewReader(largeSendersFile))
	if err != nil {
		// The file is part of the package and its tests parse it.
		panic("greylist: embedded largesenders.txt: " + err.Error())
	}
	return d
}

// ErrBadList is wrapped by ParseDomainList's errors.
var ErrBadList = errors.New("greylist: bad domain list")

// maxListLine bounds one line of a domain list; a longer one is an error,
// not an allocation.
const maxListLine = 4096

// ParseDomainList reads a domain list in largesenders.txt's format: one
// domain per line, '#' comments, blank lines ignored. Names are folded to
// lower case without a trailing dot. A line that is not a plausible domain
// (spaces inside, a NUL, longer than 253 octets) is an error naming the line.
func ParseDomainList(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxListLine)
	var out []string
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		d := foldDomain(line)
		if !plausibleDomain(d) {
			return nil, fmt.Errorf("%w: line %d: %q is not a domain", ErrBadList, n, line)
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %v", ErrBadList, n+1, err)
	}
	return out, nil
}

func foldDomain(s string) string {
	return strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "."), ".")
}

func plausibleDomain(d string) bool {
	// foldDomain strips one leading and one trailing dot; a name with more
	// ("..example", "example..") has an empty label and is no domain.
	if d == "" || len(d) > 253 || d[0] == '.' || d[len(d)-1] == '.' || strings.Contains(d, "..") {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c <= ' ' || c == 0x7f || c == '@' || c == '/' {
			return false
		}
	}
	return true
}

// allowlist is Config's allowlists, compiled.
type allowlist struct {
	clients    []netip.Prefix
	names      map[string]string // domain -> rule ("client-name" or "large-sender")
	rcptFull   map[string]bool
	rcptDomain map[string]bool
	rcptLocal  map[string]bool
	senderDoms map[string]bool
}

func newAllowlist(cfg Config) (*allowlist, error) {
	a := &allowlist{
		names:      map[string]string{},
		rcptFull:   map[string]bool{},
		rcptDomain: map[string]bool{},
		rcptLocal:  map[string]bool{},
		senderDoms: map[string]bool{},
	}
	for _, p := range cfg.AllowClients {
		if !p.IsValid() {
			return nil, errors.New("greylist: invalid network in AllowClients")
		}
		a.clients = append(a.clients, p.Masked())
	}
	if !cfg.NoLargeSenders {
		for _, d := range LargeSenders() {
			a.names[d] = "large-sender"
		}
	}
	for _, d := range cfg.AllowClientNames {
		a.names[foldDomain(d)] = "client-name"
	}
	for _, r := range cfg.AllowRecipients {
		r = strings.ToLower(strings.TrimSpace(r))
		switch i := strings.LastIndexByte(r, '@'); {
		case i < 0:
			a.rcptDomain[foldDomain(r)] = true
		case i == len(r)-1:
			a.rcptLocal[r[:i]] = true
		case i == 0:
			a.rcptDomain[foldDomain(r[1:])] = true
		default:
			a.rcptFull[r[:i]+"@"+foldDomain(r[i+1:])] = true
		}
	}
	for _, d := range cfg.AllowSenderDomains {
		a.senderDoms[foldDomain(d)] = true
	}
	return a, nil
}

// underDomain walks name and its parent domains, returning the first that
// is in set.
func underDomain[V any](set map[string]V, name string) (string, bool) {
	name = foldDomain(name)
	for name != "" {
		if _, ok := set[name]; ok {
			return name, true
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
	return "", false
}

// allowed reports whether an allowlist lets the attempt for rcpt through,
// with the result to give.
func (g *Greylist) allowed(s *smtpcheck.Session, rcpt smtpcheck.Address) (smtpcheck.Result, bool) {
	a := g.allow
	pass := func(rule, matched string) (smtpcheck.Result, bool) {
		return smtpcheck.Pass(smtpcheck.Reason{Check: Name, Rule: "allow-" + rule, Matched: matched}), true
	}
	ip := s.Conn.ClientIP.Unmap()
	for _, p := range a.clients {
		if p.Contains(ip) {
			return pass("client", p.String())
		}
	}
	for _, n := range s.Conn.Confirmed {
		if d, ok := underDomain(a.names, n); ok {
			return pass(a.names[d], n)
		}
	}
	if len(a.rcptFull)+len(a.rcptDomain)+len(a.rcptLocal) > 0 {
		local, dom := strings.ToLower(rcpt.Local), foldDomain(rcpt.Domain)
		if a.rcptFull[local+"@"+dom] || a.rcptLocal[local] {
			return pass("recipient", local+"@"+dom)
		}
		if d, ok := underDomain(a.rcptDomain, dom); ok && dom != "" {
			return pass("recipient", d)
		}
	}
	if len(a.senderDoms) > 0 && s.Mail != nil && s.Mail.From.Domain != "" {
		if d, ok := underDomain(a.senderDoms, s.Mail.From.Domain); ok {
			return pass("sender-domain", d)
		}
	}
	return smtpcheck.Result{}, false
}
