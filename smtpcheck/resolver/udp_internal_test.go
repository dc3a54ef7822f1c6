package resolver

import (
	"bytes"
	"testing"

	"github.com/miekg/dns"
)

// appendQuery packs what miekg/dns packs for SetQuestion and SetEdns0.
func TestAppendQueryMatchesMiekg(t *testing.T) {
	for _, tt := range []struct {
		name  string
		qtype uint16
		size  uint16
	}{
		{"host.test.", dns.TypeA, 1232},
		{"2.0.0.127.zen.spamhaus.org.", dns.TypeTXT, 512},
		{"_dmarc.example.com.", dns.TypeTXT, 4096},
		{".", dns.TypeNS, 1232},
	} {
		m := new(dns.Msg)
		m.SetQuestion(tt.name, tt.qtype)
		m.SetEdns0(tt.size, false)
		m.Id = 0xbeef
		want, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if got := appendQuery(nil, 0xbeef, tt.name, tt.qtype, tt.size); !bytes.Equal(got, want) {
			t.Errorf("appendQuery(%q, %d, %d) = %x, want %x", tt.name, tt.qtype, tt.size, got, want)
		}
	}
}
