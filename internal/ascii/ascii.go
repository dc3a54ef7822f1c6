// Package ascii compares network text in ASCII case without allocating,
// for the parsers of headers and bodies.
package ascii

// HasPrefixFold reports whether s begins with lower, a lower-case ASCII
// string, in any ASCII case.
func HasPrefixFold[S ~string | ~[]byte](s S, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// EqualFold reports whether s is lower, a lower-case ASCII string, in any
// ASCII case.
func EqualFold[S ~string | ~[]byte](s S, lower string) bool {
	return len(s) == len(lower) && HasPrefixFold(s, lower)
}
