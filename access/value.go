package access

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
)

// MapAction is a right-hand-side word of the smtpf access map.
type MapAction uint8

// Actions of the access map. None is not a word: it is what a pattern list
// without a matching pattern or default gives, and it behaves like Skip.
const (
	None     MapAction = iota
	OK                 // accept; skip every further check, content checks included
	Content            // skip the pre-DATA checks, keep the content checks
	Reject             // 5xx refusal, held for RCPT when delayed rejection is on
	IReject            // 5xx refusal that is never held
	TempFail           // 4xx refusal
	Discard            // accept and throw away
	Tag                // accept and mark
	Save               // accept into quarantine (smtpf SAVE)
	Trap               // accept into quarantine as a spam trap hit (smtpf TRAP)
	SPFPass            // OK when the sender's SPF result is pass, else Skip
	Skip               // stop the lookup with no verdict (SKIP, DUNNO)
)

var actionWords = [...]string{"", "OK", "CONTENT", "REJECT", "IREJECT", "TEMPFAIL", "DISCARD", "TAG", "SAVE", "TRAP", "SPF-PASS", "SKIP"}

// String returns the action's map word, such as "IREJECT".
func (a MapAction) String() string {
	if int(a) < len(actionWords) {
		if a == None {
			return "NONE"
		}
		return actionWords[a]
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

func parseActionWord(w string) (MapAction, bool) {
	switch strings.ToUpper(w) {
	case "OK", "RELAY", "ACCEPT":
		return OK, true
	case "CONTENT":
		return Content, true
	case "REJECT":
		return Reject, true
	case "IREJECT":
		return IReject, true
	case "TEMPFAIL":
		return TempFail, true
	case "DISCARD":
		return Discard, true
	case "TAG":
		return Tag, true
	case "SAVE":
		return Save, true
	case "TRAP":
		return Trap, true
	case "SPF-PASS":
		return SPFPass, true
	case "SKIP", "DUNNO":
		return Skip, true
	}
	return None, false
}

// MapValue is one action with its optional reply override, as written
// `REJECT:"550 5.7.1 go away"`.
type MapValue struct {
	Action MapAction
	// Code and Enhanced are the leading reply code of the text, or zero.
	Code     int
	Enhanced string
	// Text is the reply text without its codes, or "".
	Text string
}

// String renders the verdict back in map syntax.
func (v MapValue) String() string {
	if v.Code == 0 && v.Text == "" {
		return v.Action.String()
	}
	t := v.Text
	if v.Enhanced != "" {
		t = v.Enhanced + " " + t
	}
	if v.Code != 0 {
		t = strconv.Itoa(v.Code) + " " + t
	}
	return v.Action.String() + `:"` + strings.TrimSpace(t) + `"`
}

// override returns the reply the verdict's text asks for, built on def (the
// catalog reply the action gives by default).
func (v MapValue) override(def reply.Reply) reply.Reply {
	if v.Code == 0 {
		if v.Text == "" {
			return def
		}
		return def.WithText(v.Text)
	}
	enh := v.Enhanced
	if enh == "" {
		enh = strconv.Itoa(v.Code/100) + ".7.1"
	}
	text := v.Text
	if text == "" {
		text = def.Text()[0]
	}
	r, err := reply.New(v.Code, enh, text)
	if err != nil {
		return def.WithText(text) // validated at load; unreachable
	}
	return r
}

// PatternKind says how a Pattern matches.
type PatternKind uint8

// Pattern kinds.
const (
	PatternCIDR  PatternKind = iota + 1 // [192.0.2.0/24]ACTION: the client address
	PatternGlob                         // !*.example.com!ACTION: shell glob, case-insensitive
	PatternRegex                        // /^mx[0-9]+\./ACTION: regular expression, case-insensitive
)

// Pattern is one element of a pattern list.
type Pattern struct {
	Kind    PatternKind
	Text    string // the pattern as written, without its delimiters
	Prefix  netip.Prefix
	re      *regexp.Regexp
	Verdict MapValue
}

// Value is a parsed right-hand side: a single verdict, a pattern list with an
// optional default, or (for the numeric tags) a number.
type Value struct {
	Raw      string
	Verdict  MapValue  // the verdict, or the pattern list's default (Action None when absent)
	Patterns []Pattern // tried left to right
	Number   int64     // numeric tags: the count, the size in bytes
	Period   time.Duration
}

// Subject is what a pattern list is matched against.
type Subject struct {
	IP   netip.Addr // for [cidr] patterns; invalid when not applicable
	Text string     // for globs and regexes: a host name or a mail address, lower case
}

// Decide runs the pattern list against subj and returns the first matching
// pattern's verdict, or the default.
func (v *Value) Decide(subj Subject) MapValue {
	for i := range v.Patterns {
		p := &v.Patterns[i]
		switch p.Kind {
		case PatternCIDR:
			if subj.IP.IsValid() && p.Prefix.Contains(subj.IP.Unmap()) {
				return p.Verdict
			}
		case PatternGlob:
			if subj.Text != "" && globMatch(p.Text, subj.Text) {
				return p.Verdict
			}
		case PatternRegex:
			if subj.Text != "" && p.re.MatchString(subj.Text) {
				return p.Verdict
			}
		}
	}
	return v.Verdict
}

// valueKind selects how a right-hand side is parsed.
type valueKind uint8

const (
	kindAction valueKind = iota // OK, REJECT:"text", pattern lists
	kindCount                   // Concurrent-Connect, Rate-Connect, Null-Rate-To: N
	kindRate                    // Msg-Limit-*: N/period
	kindSize                    // Length-*: bytes with K/M/G
	kindPeriod                  // Msg-Limit-* periods: a duration
	kindPause                   // Grey-*, GreetPause, CommandPause: a duration, 0 turning the feature off
)

// errValue is the error of a malformed right-hand side.
var errValue = errors.New("bad value")

func parseValue(kind valueKind, raw string) (Value, error) {
	v := Value{Raw: raw}
	var err error
	switch kind {
	case kindAction:
		err = parseActionValue(&v, raw)
	case kindCount:
		v.Number, err = parseCount(raw)
	case kindRate:
		n, p, ok := strings.Cut(raw, "/")
		if !ok {
			return v, fmt.Errorf("%w: %q is not N/period", errValue, raw)
		}
		if v.Number, err = parseCount(n); err == nil {
			v.Period, err = parsePeriod(p)
		}
	case kindSize:
		v.Number, err = parseSize(raw)
	case kindPeriod:
		v.Period, err = parsePeriod(raw)
	case kindPause:
		if isZero(raw) {
			break // zero turns greylisting or the pause off for the key
		}
		v.Period, err = parsePeriod(raw)
	}
	return v, err
}

// isZero reports whether a period is written as zero: "0", "0s", "0m"...
func isZero(s string) bool {
	s = strings.TrimSpace(strings.ToLower(s))
	if s != "" && strings.IndexByte("smhdw", s[len(s)-1]) >= 0 {
		s = s[:len(s)-1]
	}
	return s != "" && strings.Trim(s, "0") == ""
}

func parseCount(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %q is not a count", errValue, s)
	}
	return n, nil
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%w: %q is not a size (bytes, or a number with K, M or G)", errValue, s)
	}
	return n * mult, nil
}

// parsePeriod reads smtpf periods: a number with an optional unit s, m, h,
// d or w (seconds when absent), a bare unit ("h" is one hour), or a Go
// duration such as "1h30m".
func parsePeriod(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if s == "" {
		return 0, fmt.Errorf("%w: empty period", errValue)
	}
	if u, ok := units[s[0]]; ok && len(s) == 1 {
		return u, nil
	}
	unit := time.Second
	num := s
	if u, ok := units[s[len(s)-1]]; ok {
		unit, num = u, s[:len(s)-1]
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil && n > 0 && n < int64(1<<62)/int64(unit) {
		return time.Duration(n) * unit, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%w: %q is not a period (such as 60, 60s, 10m, 1h, 1d)", errValue, s)
}

// parseActionValue reads a single verdict or a pattern list:
//
//	REJECT
//	REJECT:"550 5.7.1 text"
//	[192.0.2.0/24]OK !*.dial.example!REJECT /^mx[0-9]+\./OK DUNNO
func parseActionValue(v *Value, raw string) error {
	rest := strings.TrimSpace(raw)
	if rest == "" {
		return fmt.Errorf("%w: empty right-hand side", errValue)
	}
	for rest != "" {
		var p Pattern
		switch rest[0] {
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return fmt.Errorf("%w: unclosed [ in %q", errValue, rest)
			}
			p.Kind, p.Text = PatternCIDR, rest[1:end]
			pfx, err := parseCIDR(p.Text)
			if err != nil {
				return fmt.Errorf("%w: [%s]: %v", errValue, p.Text, err)
			}
			p.Prefix = pfx
			rest = rest[end+1:]
		case '!', '/':
			delim := rest[0]
			end := strings.IndexByte(rest[1:], delim)
			if delim == '/' {
				end = regexEnd(rest[1:])
			}
			if end < 0 {
				return fmt.Errorf("%w: unclosed %c in %q", errValue, delim, rest)
			}
			p.Text = rest[1 : end+1]
			rest = rest[end+2:]
			if delim == '!' {
				p.Kind = PatternGlob
				p.Text = strings.ToLower(p.Text)
			} else {
				p.Kind = PatternRegex
				re, err := regexp.Compile("(?i)" + p.Text)
				if err != nil {
					return fmt.Errorf("%w: /%s/: %v", errValue, p.Text, err)
				}
				p.re = re
			}
		default:
			vd, n, err := parseVerdict(rest)
			if err != nil {
				return err
			}
			rest = strings.TrimSpace(rest[n:])
			if rest != "" {
				return fmt.Errorf("%w: %q after the default action", errValue, rest)
			}
			v.Verdict = vd
			return nil
		}
		vd, n, err := parseVerdict(rest)
		if err != nil {
			return fmt.Errorf("pattern %q: %w", p.Text, err)
		}
		p.Verdict = vd
		v.Patterns = append(v.Patterns, p)
		rest = strings.TrimLeft(rest[n:], " \t")
	}
	return nil
}

// regexEnd finds the closing slash of a regex, skipping escaped slashes.
func regexEnd(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '/':
			return i
		}
	}
	return -1
}

func parseCIDR(s string) (netip.Prefix, error) {
	if strings.IndexByte(s, '/') < 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return p, fmt.Errorf("mapped prefix shorter than /96")
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// parseVerdict reads ACTION or ACTION:"text" (or ACTION:text up to the next
// blank) at the start of s and returns how many bytes it used.
func parseVerdict(s string) (MapValue, int, error) {
	end := strings.IndexAny(s, " \t:")
	if end < 0 {
		end = len(s)
	}
	word := s[:end]
	a, ok := parseActionWord(word)
	if !ok {
		return MapValue{}, 0, fmt.Errorf("%w: unknown action %q", errValue, word)
	}
	v := MapValue{Action: a}
	if end == len(s) || s[end] != ':' {
		return v, end, nil
	}
	rest := s[end+1:]
	var text string
	used := end + 1
	if strings.HasPrefix(rest, `"`) {
		q := strings.IndexByte(rest[1:], '"')
		if q < 0 {
			return v, 0, fmt.Errorf("%w: unclosed quote after %s:", errValue, word)
		}
		text = rest[1 : q+1]
		used += q + 2
	} else {
		sp := strings.IndexAny(rest, " \t")
		if sp < 0 {
			sp = len(rest)
		}
		text = rest[:sp]
		used += sp
	}
	switch a {
	case Reject, IReject, TempFail:
	default:
		if text != "" {
			return v, 0, fmt.Errorf("%w: %s takes no reply text", errValue, word)
		}
	}
	if err := v.setText(text); err != nil {
		return v, 0, err
	}
	return v, used, nil
}

// setText splits an optional leading reply code and enhanced code off text.
func (v *MapValue) setText(text string) error {
	text = strings.TrimSpace(text)
	if strings.ContainsAny(text, "\r\n\x00") {
		return fmt.Errorf("%w: control character in reply text", errValue)
	}
	if len(text) >= 3 && (text[0] == '4' || text[0] == '5') && isDigits(text[:3]) && (len(text) == 3 || text[3] == ' ') {
		code, _ := strconv.Atoi(text[:3])
		text = strings.TrimSpace(text[3:])
		enh := ""
		if w, rest, _ := strings.Cut(text, " "); strings.Count(w, ".") == 2 && w[0] >= '2' && w[0] <= '5' {
			enh, text = w, strings.TrimSpace(rest)
		}
		if _, err := reply.New(code, enh, text); err != nil {
			return fmt.Errorf("%w: reply %d %s: %v", errValue, code, enh, err)
		}
		if v.Action == TempFail && code >= 500 || (v.Action == Reject || v.Action == IReject) && code < 500 {
			return fmt.Errorf("%w: %s with a %d reply", errValue, v.Action, code)
		}
		v.Code, v.Enhanced = code, enh
	}
	v.Text = text
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// globMatch matches a shell glob with * and ? against s (both lower case),
// iteratively so a hostile pattern cannot blow up.
func globMatch(pat, s string) bool {
	px, sx := 0, 0
	nextP, nextS := -1, -1
	for px < len(pat) || sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				nextP, nextS = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextS > 0 && nextS <= len(s) {
			px, sx = nextP, nextS
			continue
		}
		return false
	}
	return true
}
