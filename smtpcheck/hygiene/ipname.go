package hygiene

import (
	"net/netip"
	"strings"
)

// defaultDynamicWords are name parts that ISPs use for dynamic, residential
// and pooled addresses.
var defaultDynamicWords = [...]string{
	"dyn", "dynamic", "dhcp", "dsl", "adsl", "xdsl", "vdsl", "cable", "cpe",
	"pool", "ppp", "pppoe", "dial", "dialup", "client", "clients", "customer",
	"cust", "home", "host", "user", "users", "broadband", "bb", "static", "ip",
	"res", "residential", "fibre", "fiber", "ftth", "wifi", "wireless", "mobile",
	"3g", "4g", "lte", "5g", "nat", "unknown", "unassigned", "rev", "reverse",
}

// IPInName reports whether name embeds the address ip the way generic PTR
// names of dynamic and residential ranges do: the four octets of an IPv4
// address in order or reversed (1-2-3-4.isp.example, 4.3.2.1.dsl.example),
// zero-padded (001002003004), or in hex (c0000201); or the last two
// octets next to a word such as "dsl", "dyn" or "pool" when words is nil.
// An IPv6 address matches when its last 64 bits appear in hex.
func IPInName(name string, ip netip.Addr, words []string) bool {
	ip = ip.Unmap()
	name = normDomain(name)
	if !ip.IsValid() || name == "" {
		return false
	}
	if ip.Is6() {
		a := ip.As16()
		const hex = "0123456789abcdef"
		var b [16]byte
		for i := 0; i < 8; i++ {
			b[2*i], b[2*i+1] = hex[a[8+i]>>4], hex[a[8+i]&0xf]
		}
		compact := strings.NewReplacer("-", "", ".", "", ":", "").Replace(name)
		return strings.Contains(compact, string(b[:]))
	}
	o := ip.As4()
	// Decimal tokens: maximal digit runs.
	var toks [16]int
	var lens [16]int
	n := 0
	for i := 0; i < len(name) && n < len(toks); {
		if name[i] < '0' || name[i] > '9' {
			i++
			continue
		}
		j, v := i, 0
		for j < len(name) && name[j] >= '0' && name[j] <= '9' && j-i < 12 {
			v = v*10 + int(name[j]-'0')
			j++
		}
		for j < len(name) && name[j] >= '0' && name[j] <= '9' {
			j++
		}
		toks[n], lens[n] = v, j-i
		n++
		// Zero-padded form: 12 digits, three per octet.
		if j-i == 12 {
			s := name[i:j]
			if s == pad3(o[0])+pad3(o[1])+pad3(o[2])+pad3(o[3]) || s == pad3(o[3])+pad3(o[2])+pad3(o[1])+pad3(o[0]) {
				return true
			}
		}
		i = j
	}
	for k := 0; k+3 < n; k++ {
		fwd, rev := true, true
		for m := 0; m < 4; m++ {
			if lens[k+m] > 3 {
				fwd, rev = false, false
				break
			}
			fwd = fwd && toks[k+m] == int(o[m])
			rev = rev && toks[k+m] == int(o[3-m])
		}
		if fwd || rev {
			return true
		}
	}
	// Hex form.
	const hex = "0123456789abcdef"
	h := [8]byte{hex[o[0]>>4], hex[o[0]&0xf], hex[o[1]>>4], hex[o[1]&0xf], hex[o[2]>>4], hex[o[2]&0xf], hex[o[3]>>4], hex[o[3]&0xf]}
	if strings.Contains(name, string(h[:])) {
		return true
	}
	// The last two octets beside a dynamic-range word; a name with four or
	// more numbers names some other address.
	if n >= 4 {
		return false
	}
	hasPair := false
	for k := 0; k+1 < n; k++ {
		if lens[k] <= 3 && lens[k+1] <= 3 && (toks[k] == int(o[2]) && toks[k+1] == int(o[3]) || toks[k] == int(o[3]) && toks[k+1] == int(o[2])) {
			hasPair = true
			break
		}
	}
	if !hasPair {
		return false
	}
	if words == nil {
		words = defaultDynamicWords[:]
	}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' }) {
		for _, w := range words {
			if part == w {
				return true
			}
		}
	}
	return false
}

func pad3(b byte) string {
	return string([]byte{'0' + b/100, '0' + b/10%10, '0' + b%10})
}
