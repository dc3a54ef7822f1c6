package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// postgreyOptions are postgrey's command-line options, taken with the same
// names, units and file formats so that a postgrey user keeps the
// arguments: "--delay=60 --max-age=35 --inet=10023" means what it meant.
type postgreyOptions struct {
	maxAge         time.Duration
	retryWindow    time.Duration
	autoAllow      int // 0: the greylist's default; negative: off
	exactIP        bool
	ipv4, ipv6     int
	privacy        bool
	clientFiles    listFlag
	recipientFiles listFlag
	text           string
	action         string
	header         string
	dbdir          string
	// given is true when any of postgrey's options is on the command
	// line: the greylisting answer is then postgrey's own, its default
	// text and, behind a Postfix that sends etrn_domain (2.3 and later),
	// its enhanced code 4.2.0, so that a postgrey user who swaps the
	// binary sees the same replies.
	given bool
}

// postgreyText is postgrey's default --greylist-text.
const postgreyText = "Greylisted, see http://postgrey.schweikert.ch/help/%r.html"

// postfixSendsDSNKey keys, in a session's values, whether the request came
// from a Postfix that takes an enhanced status code in a policy's text
// (it sends etrn_domain, as every Postfix since 2.3 does).
type postfixSendsDSNKey struct{}

// markPostgreyGiven sets pg.given when fs had one of postgrey's options
// set on its command line; names are the options postgreyFlags registered.
func (pg *postgreyOptions) markPostgreyGiven(fs *flag.FlagSet, names map[string]bool) {
	fs.Visit(func(f *flag.Flag) {
		if names[f.Name] {
			pg.given = true
		}
	})
}

// autoAllowFlag is --auto-whitelist-clients[=N]: alone it turns auto-allow
// on with postgrey's count of 5, =0 turns it off (as -greylist-auto-allow
// 0 does).
type autoAllowFlag struct{ params *assembly.Config }

func (f autoAllowFlag) String() string { return "" }

func (f autoAllowFlag) IsBoolFlag() bool { return true }

func (f autoAllowFlag) Set(v string) error {
	switch v {
	case "true", "":
		return f.params.Set("smtppolicy_greylist_auto_allow", "5")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("want a count of passes (0 turns auto-whitelisting off)")
	}
	return f.params.Set("smtppolicy_greylist_auto_allow", strconv.Itoa(n))
}

// postgreyFlags registers postgrey's options on fs; they set o's own
// fields where policyd has the same setting (listening address, delay,
// store, host name) and pg's otherwise. It returns the options' names.
func postgreyFlags(fs *flag.FlagSet, o *options, pg *postgreyOptions) map[string]bool {
	before := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
	fs.Func("inet", "postgrey: listen on [HOST:]PORT (localhost when HOST is left out)", func(v string) error {
		if _, err := strconv.Atoi(v); err == nil {
			v = "localhost:" + v
		}
		o.listen = "inet:" + v
		return nil
	})
	fs.Func("unix", "postgrey: listen on the Unix socket PATH", func(v string) error {
		o.listen = "unix:" + v
		return nil
	})
	fs.Func("socketmode", "postgrey: permissions of the Unix socket (as -listen-mode)", func(v string) error {
		o.listenMode = v
		return nil
	})
	fs.Func("delay", "postgrey: greylist for N seconds (as -greylist-delay)", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("want a number of seconds")
		}
		return o.params.Set("smtppolicy_greylist_delay", strconv.Itoa(n)+"s")
	})
	fs.Func("max-age", "postgrey: forget a triplet N days after it was last seen", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("want a number of days")
		}
		pg.maxAge = time.Duration(n) * 24 * time.Hour
		return nil
	})
	fs.Func("retry-window", "postgrey: allow N days for the first retry, or Nh hours", func(v string) error {
		d, err := parseRetryWindow(v)
		pg.retryWindow = d
		return err
	})
	fs.Var(autoAllowFlag{o.params}, "auto-whitelist-clients", "postgrey: stop greylisting a client after N passes, one an hour counted (alone: 5; 0: never)")
	fs.BoolFunc("lookup-by-subnet", "postgrey: key triplets by the client's network, sized by --ipv4cidr and --ipv6cidr (the default)", func(string) error {
		pg.exactIP = false
		return nil
	})
	fs.BoolFunc("lookup-by-host", "postgrey: key triplets by the client's whole address", func(string) error {
		pg.exactIP = true
		return nil
	})
	fs.IntVar(&pg.ipv4, "ipv4cidr", 24, "postgrey: network size of IPv4 clients with --lookup-by-subnet")
	fs.IntVar(&pg.ipv6, "ipv6cidr", 64, "postgrey: network size of IPv6 clients with --lookup-by-subnet")
	fs.BoolVar(&pg.privacy, "privacy", false, "postgrey: store only one-way hashes of triplets and clients")
	fs.Var(&pg.clientFiles, "whitelist-clients", "postgrey: file of clients never greylisted: names (and their subdomains), addresses, networks, /regexps/ (repeatable)")
	fs.Var(&pg.recipientFiles, "whitelist-recipients", "postgrey: file of recipients never greylisted: user@domain, user@, domain, /regexps/ (repeatable)")
	fs.StringVar(&pg.text, "greylist-text", "", "postgrey: the text of the greylisting answer; %s is the seconds left, %r the recipient's domain")
	fs.StringVar(&pg.action, "greylist-action", "DEFER_IF_PERMIT", "postgrey: the answer's action when greylisting, DEFER_IF_PERMIT or DEFER")
	fs.StringVar(&pg.header, "x-greylist-header", "", "postgrey: the header added to delayed mail; %t is the delay in seconds, %v the version, %h the host name, %d the date")
	fs.StringVar(&pg.dbdir, "dbdir", "", "postgrey: keep the triplets in DIR/greylist.db (unless -greylist says otherwise)")
	names := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		if !before[f.Name] {
			names[f.Name] = true
		}
	})
	return names
}

// parseRetryWindow reads postgrey's --retry-window: days, or hours with h.
func parseRetryWindow(v string) (time.Duration, error) {
	unit := 24 * time.Hour
	if n, ok := strings.CutSuffix(strings.ToLower(v), "h"); ok {
		v, unit = n, time.Hour
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("must be either a number of days or a number followed by h (hours)")
	}
	return time.Duration(n) * unit, nil
}

// configure applies postgrey's settings to a greylist configuration.
func (pg *postgreyOptions) configure(gc *greylist.Config) error {
	gc.RetryWindow = pg.retryWindow
	gc.MaxAge = pg.maxAge
	gc.ExactIP = pg.exactIP
	gc.IPv4Prefix, gc.IPv6Prefix = pg.ipv4, pg.ipv6
	gc.Privacy = pg.privacy
	wl, err := loadWhitelists(pg.clientFiles, pg.recipientFiles)
	if err != nil {
		return err
	}
	gc.Skip = append(gc.Skip, wl.allows)
	switch pg.action {
	case "DEFER_IF_PERMIT", "DEFER":
	default:
		return fmt.Errorf("--greylist-action %q: want DEFER_IF_PERMIT or DEFER", pg.action)
	}
	return nil
}

// whitelists are postgrey's client and recipient lists.
type whitelists struct {
	names      []*regexp.Regexp    // client name patterns (/.../ lines)
	domains    map[string]struct{} // client names and domains, lower case
	nets       []netip.Prefix
	recipients []*regexp.Regexp
}

// defaultRecipients is the recipient list postgrey ships: the role
// addresses that must always get through (RFC 2142).
const defaultRecipients = "postmaster@\nabuse@\n"

// loadWhitelists reads postgrey's list files. A missing file ending in
// .local is skipped, as postgrey does; any other unreadable file, or a
// line postgrey would warn about, is an error naming file and line.
// Without recipient files, postgrey's shipped list applies; the client
// names postgrey ships are the greylist's own large-sender list.
func loadWhitelists(clients, recipients []string) (*whitelists, error) {
	wl := &whitelists{}
	if len(recipients) == 0 {
		recipients = []string{"(postgrey's default whitelist_recipients)"}
	}
	each := func(path string, fn func(line string) error) error {
		var r io.Reader = strings.NewReader(defaultRecipients)
		if !strings.HasPrefix(path, "(") {
			f, err := os.Open(path)
			if err != nil {
				if os.IsNotExist(err) && strings.HasSuffix(path, ".local") {
					return nil
				}
				return err
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		for n := 1; sc.Scan(); n++ {
			line, _, _ := strings.Cut(sc.Text(), "#")
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			if err := fn(line); err != nil {
				return fmt.Errorf("%s:%d: %v", path, n, err)
			}
		}
		return sc.Err()
	}
	quad := regexp.MustCompile(`^\d{1,3}(\.\d{1,3}){1,3}(/\d{1,2})?$`)
	for _, path := range clients {
		err := each(path, func(line string) error {
			switch {
			case len(line) > 2 && line[0] == '/' && line[len(line)-1] == '/':
				re, err := regexp.Compile("(?i)" + line[1:len(line)-1])
				if err != nil {
					return err
				}
				wl.names = append(wl.names, re)
			case quad.MatchString(line):
				// Postgrey reads a.b.c and a.b as /24 networks.
				addr, bits, _ := strings.Cut(line, "/")
				parts := strings.Count(addr, ".") + 1
				for i := parts; i < 4; i++ {
					addr += ".0"
				}
				if bits == "" {
					bits = "32"
					if parts < 4 {
						bits = "24"
					}
				}
				p, err := netip.ParsePrefix(addr + "/" + bits)
				if err != nil {
					return err
				}
				wl.nets = append(wl.nets, p.Masked())
			case strings.Count(line, ":") >= 2:
				p, err := netip.ParsePrefix(line)
				if err != nil {
					a, aerr := netip.ParseAddr(line)
					if aerr != nil {
						return fmt.Errorf("bad IPv6 address or network %q", line)
					}
					p = netip.PrefixFrom(a, 128)
				}
				wl.nets = append(wl.nets, p.Masked())
			case !strings.ContainsAny(line, " \t") && !strings.HasPrefix(line, "."):
				// The name or any name under it, as postgrey's
				// /(^|\.)NAME$/i: a set of names looked up by each of the
				// client's parent domains in turn, where a pattern per
				// line cost every request a match per line.
				if wl.domains == nil {
					wl.domains = make(map[string]struct{})
				}
				wl.domains[strings.ToLower(line)] = struct{}{}
			case !strings.ContainsAny(line, " \t"):
				wl.names = append(wl.names, regexp.MustCompile(`(?i)(?:^|\.)`+regexp.QuoteMeta(line)+`$`))
			default:
				return fmt.Errorf("%q does not look like a host name", line)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("--whitelist-clients: %w", err)
		}
	}
	for _, path := range recipients {
		err := each(path, func(line string) error {
			user, domain, hasAt := strings.Cut(line, "@")
			var pat string
			switch {
			case len(line) > 2 && line[0] == '/' && line[len(line)-1] == '/':
				pat = line[1 : len(line)-1]
			case strings.ContainsAny(line, " \t"):
				return fmt.Errorf("%q does not look like an address", line)
			case hasAt && domain != "":
				pat = `^` + regexp.QuoteMeta(user) + `(?:\+[^@]+)?@` + regexp.QuoteMeta(domain) + `$`
			case hasAt:
				pat = `^` + regexp.QuoteMeta(user) + `(?:\+[^@]+)?@`
			default:
				pat = `(?:@|\.)` + regexp.QuoteMeta(user) + `$`
			}
			re, err := regexp.Compile("(?i)" + pat)
			if err != nil {
				return err
			}
			wl.recipients = append(wl.recipients, re)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("--whitelist-recipients: %w", err)
		}
	}
	return wl, nil
}

// allows is the condition under which greylisting is skipped: the client's
// name or address, or the recipient, is on a list.
func (wl *whitelists) allows(s *smtpcheck.Session) bool {
	name := "unknown"
	if len(s.Conn.Confirmed) > 0 {
		name = s.Conn.Confirmed[0]
	}
	if wl.domains != nil {
		for d := strings.ToLower(name); d != ""; {
			if _, ok := wl.domains[d]; ok {
				return true
			}
			_, d, _ = strings.Cut(d, ".")
		}
	}
	for _, re := range wl.names {
		if re.MatchString(name) {
			return true
		}
	}
	ip := s.Conn.ClientIP.Unmap()
	for _, p := range wl.nets {
		if p.Contains(ip) {
			return true
		}
	}
	if len(wl.recipients) == 0 {
		return false // and no recipient string to build
	}
	rcpt := s.Rcpt.String()
	for _, re := range wl.recipients {
		if re.MatchString(rcpt) {
			return true
		}
	}
	return false
}

// postgreyAnswers rewrites the greylist's answers as postgrey would give
// them when postgrey's options are in use: --greylist-text (postgrey's
// default text otherwise), --greylist-action and --x-greylist-header.
func (pg *postgreyOptions) postgreyAnswers(c smtpcheck.Check, exchange bool, hostname string) smtpcheck.Check {
	if !pg.given && pg.text == "" && pg.action == "DEFER_IF_PERMIT" && pg.header == "" {
		return c
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		switch {
		case r.Err != nil:
		case r.Action == smtpcheck.DeferIfPermit || r.Action.Refuses():
			code, text := 451, strings.Join(r.DefaultReply().Text(), " ")
			tmpl := pg.text
			if tmpl == "" && pg.given {
				tmpl = postgreyText
			}
			if tmpl != "" {
				wait := strings.TrimSuffix(strings.TrimPrefix(r.Reason.Evidence, "wait="), "s")
				text = strings.Replace(tmpl, "%s", wait, 1)
				text = strings.Replace(text, "%r", s.Rcpt.Domain, 1)
			}
			if pg.action == "DEFER" {
				// A final deferral with the code Postfix gives its own
				// DEFER (access_map_defer_code, 450).
				r.Action, code = smtpcheck.TempFail, 450
			}
			enh := "4.7.1"
			dsnAware, _ := s.Value(postfixSendsDSNKey{}).(bool)
			switch {
			case exchange:
				enh = "4.2.0"
			case pg.given && dsnAware && (tmpl == "" || tmpl[0] < '0' || tmpl[0] > '9'):
				// Postgrey's work-around for Exchange, which retries a
				// 4.7.1 too late: 4.2.0 where Postfix takes it.
				enh = "4.2.0"
			}
			// A text that starts with its own enhanced code keeps it, as
			// Postfix reads it from postgrey's answer.
			if d, rest, ok := strings.Cut(text, " "); ok && dsnOfClass4(d) {
				enh, text = d, rest
			}
			if rep, err := reply.New(code, enh, text); err == nil {
				r.Reply = rep
			}
		case len(r.Headers) > 0 && pg.header != "":
			delayed, _ := time.ParseDuration(strings.TrimPrefix(r.Reason.Evidence, "delayed="))
			h := strings.Replace(pg.header, "%t", strconv.Itoa(int(delayed/time.Second)), 1)
			h = strings.Replace(h, "%v", "smtppolicy", 1)
			h = strings.Replace(h, "%d", time.Now().Format("Mon, 02 Jan 2006 15:04:05 MST"), 1)
			h = strings.Replace(h, "%h", hostname, 1)
			name, value, ok := strings.Cut(h, ":")
			if !ok {
				name, value = "X-Greylist", h
			}
			r.Headers = []smtpcheck.HeaderField{{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)}}
		}
		return r
	}
}

// dsnOfClass4 reports whether s is an enhanced status code of a
// temporary failure, 4.X.Y (RFC 3463), as a greylisting text may begin.
func dsnOfClass4(s string) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || p[0] != "4" {
		return false
	}
	for _, n := range p[1:] {
		if len(n) == 0 || len(n) > 3 {
			return false
		}
		if _, err := strconv.Atoi(n); err != nil {
			return false
		}
	}
	return true
}
