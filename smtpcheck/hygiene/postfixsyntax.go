package hygiene

import (
	"net/netip"
	"strings"
)

// Host name and address syntax as Postfix's smtpd judges a HELO argument
// (valid_hostname, valid_hostaddr, valid_mailhost_addr in Postfix's util
// and global libraries), so that reject_invalid_helo_hostname and its
// relatives refuse exactly what Postfix refuses.

// trimOneDot drops a trailing dot, but not from a name ending in two
// (Postfix's dup_if_truncate).
func trimOneDot(name string) string {
	if n := len(name); n > 1 && name[n-1] == '.' && name[n-2] != '.' {
		return name[:n-1]
	}
	return name
}

// validHostname: labels of letters, digits, '_' and inner '-', at most 63
// octets each, 255 in all, not all digits.
func validHostname(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	label, nonNumeric := 0, false
	for i := 0; i < len(name); i++ {
		ch := name[i]
		switch {
		case isAlnum(ch) || ch == '_':
			label++
			if label > 63 {
				return false
			}
			if ch < '0' || ch > '9' {
				nonNumeric = true
			}
		case ch == '.':
			if label == 0 || i == len(name)-1 {
				return false
			}
			label = 0
		case ch == '-':
			nonNumeric = true
			label++
			if label == 1 || i == len(name)-1 || name[i+1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return nonNumeric
}

func isAlnum(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
}

// validIPv4: four decimal octets of at most 255; 0.0.0.0 but no other
// address starting with 0.
func validIPv4(addr string) bool {
	inByte, count, val := false, 0, 0
	for i := 0; i < len(addr); i++ {
		ch := addr[i]
		switch {
		case ch >= '0' && ch <= '9':
			if !inByte {
				inByte, val = true, 0
				count++
			}
			val = val*10 + int(ch-'0')
			if val > 255 {
				return false
			}
		case ch == '.':
			if !inByte || i == len(addr)-1 {
				return false
			}
			if count == 1 && val == 0 && strings.Trim(addr, "0.") != "" {
				return false
			}
			inByte = false
		default:
			return false
		}
	}
	return count == 4
}

// validIPv6: an IPv6 address in text form, without a zone.
func validIPv6(addr string) bool {
	if !strings.Contains(addr, ":") || strings.Contains(addr, "%") {
		return false
	}
	a, err := netip.ParseAddr(addr)
	return err == nil && a.Is6()
}

// validHostaddr is an address written bare: IPv6 when it holds a colon.
func validHostaddr(addr string) bool {
	if strings.Contains(addr, ":") {
		return validIPv6(addr)
	}
	return validIPv4(addr)
}

// validHeloAddress is reject_invalid_hostaddr's test of a HELO argument
// that starts with '[': the brackets come off, then an "IPv6:" prefix
// asks for an IPv6 address, anything else for an IPv4 one.
func validHeloAddress(h string) bool {
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if len(h) >= 5 && strings.EqualFold(h[:5], "IPv6:") {
		return validIPv6(h[5:])
	}
	return validIPv4(h)
}
