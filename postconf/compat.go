package postconf

import (
	"fmt"
	"strconv"
	"strings"
)

// compatLevel is a Postfix compatibility_level: "0", "2", "3.6", "3.6.1".
// Postfix changed some defaults at levels 1, 2 and 3.6; a file keeps the
// defaults of the level it names, and a file naming none has level 0.
type compatLevel [3]int

func parseCompatLevel(s string) (compatLevel, error) {
	var l compatLevel
	s = strings.TrimSpace(s)
	if s == "" {
		return l, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return l, fmt.Errorf("compatibility level %q is not N, N.N or N.N.N", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 1<<20 {
			return l, fmt.Errorf("compatibility level %q is not N, N.N or N.N.N", s)
		}
		l[i] = n
	}
	return l, nil
}

func (l compatLevel) below(major, minor int) bool {
	if l[0] != major {
		return l[0] < major
	}
	return l[1] < minor
}

// compatLevel returns the file's compatibility_level; a value that does not
// parse counts as 0 here and is reported by Build.
func (f *File) compatLevel() compatLevel {
	p, ok := f.params["compatibility_level"]
	if !ok {
		return compatLevel{}
	}
	l, _ := parseCompatLevel(p.Value)
	return l
}

// compatDefault is the default of a parameter whose default depends on
// compatibility_level (postconf(5)), for the file's level.
func (f *File) compatDefault(name string) (string, bool) {
	switch name {
	case "relay_domains":
		// Below level 2 the domains Postfix relays to include
		// mydestination's.
		if f.compatLevel().below(2, 0) {
			return "$mydestination", true
		}
		return "", true
	case "mynetworks_style":
		if f.compatLevel().below(2, 0) {
			return "subnet", true
		}
		return "host", true
	case "smtpd_relay_before_recipient_restrictions":
		// From level 3.6 smtpd_relay_restrictions is evaluated before
		// smtpd_recipient_restrictions; below it, after.
		if f.compatLevel().below(3, 6) {
			return "no", true
		}
		return "yes", true
	}
	return "", false
}
