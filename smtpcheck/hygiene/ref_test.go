package hygiene

import (
	"fmt"
	"strings"
)

// parseDateRef is the straightforward form of ParseDate (strings.Fields,
// strings.Split, strings.ToLower), kept to check that the allocation-free
// ParseDate decides and explains every input the same way.
func parseDateRef(v string, strict bool) error {
	f := strings.Fields(stripComments(v))
	if len(f) > 0 {
		if name, comma := strings.CutSuffix(f[0], ","); comma || (len(f) > 1 && f[1] == ",") {
			if !oneOf(strings.ToLower(name), dayNames[:]) {
				return fmt.Errorf("bad day name %q", name)
			}
			f = f[1:]
			if !comma {
				f = f[1:]
			}
		}
	}
	if len(f) != 5 {
		return fmt.Errorf("want day month year time zone, got %d fields", len(f))
	}
	if _, err := number(f[0], 1, 2, 1, 31); err != nil {
		return fmt.Errorf("bad day: %w", err)
	}
	if !oneOf(strings.ToLower(f[1]), monthNames[:]) {
		return fmt.Errorf("bad month %q", f[1])
	}
	yearMin := 4
	if !strict {
		yearMin = 2
	}
	if _, err := number(f[2], yearMin, 4, 0, 9999); err != nil {
		return fmt.Errorf("bad year: %w", err)
	}
	t := strings.Split(f[3], ":")
	if len(t) != 2 && len(t) != 3 {
		return fmt.Errorf("bad time %q", f[3])
	}
	limits := [3]int{23, 59, 60}
	for i, p := range t {
		if _, err := number(p, 2, 2, 0, limits[i]); err != nil {
			return fmt.Errorf("bad time %q: %w", f[3], err)
		}
	}
	z := f[4]
	if len(z) == 5 && (z[0] == '+' || z[0] == '-') {
		if _, err := number(z[1:3], 2, 2, 0, 99); err != nil {
			return fmt.Errorf("bad zone %q", z)
		}
		if _, err := number(z[3:], 2, 2, 0, 59); err != nil {
			return fmt.Errorf("bad zone %q", z)
		}
		return nil
	}
	if !strict && oneOf(strings.ToLower(z), obsZones[:]) {
		return nil
	}
	return fmt.Errorf("bad zone %q", z)
}

// scanRef scans b one byte at a time through Scanner.step alone: the
// plain state machine that Write's fast paths must agree with.
func scanRef(b []byte) LineFindings {
	var sc Scanner
	sc.init()
	for i, c := range b {
		sc.step(c, int64(i))
	}
	sc.off = int64(len(b))
	return sc.Findings()
}
