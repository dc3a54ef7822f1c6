package uri

import (
	"fmt"
	"mime"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// The caches answer as the functions they cache, stay bounded, and are
// safe for concurrent extractions.
func TestNameCaches(t *testing.T) {
	x := NewExtractor()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 * cacheShards * cacheShardMax {
				name := fmt.Sprintf("h%d-%d.Example.COM", g, i%(2*cacheShards*cacheShardMax))
				want, werr := ParseHost(name)
				got, gerr := x.parseHost([]byte(name))
				if got != want || gerr != werr {
					t.Errorf("parseHost(%q) = %+v, %v; ParseHost = %+v, %v", name, got, gerr, want, werr)
					return
				}
				for _, n := range []string{name, "report.pdf", "x.co.uk", "a.notatld"} {
					if got, want := x.knownSuffix([]byte(n)), knownSuffix(n); got != want {
						t.Errorf("knownSuffix(%q) = %v, want %v", n, got, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for i := range x.hosts.shards {
		s := &x.hosts.shards[i]
		s.mu.RLock()
		n := len(s.m)
		s.mu.RUnlock()
		if n > cacheShardMax {
			t.Errorf("host cache shard %d holds %d names, max %d", i, n, cacheShardMax)
		}
	}
	if _, err := x.parseHost([]byte("bad~host.example.com")); err != ErrBadHost {
		t.Errorf("parseHost(bad~host) error %v, want ErrBadHost", err)
	}
}

// A host written without the shape of a domain (a decimal IPv4 address)
// is still counted when it is mentioned again as a bare word: the check
// that skips such words only applies while no such host has been seen.
func TestMentionsOfOddHosts(t *testing.T) {
	for _, tt := range []struct {
		text     string
		mentions int
	}{
		{"http://2130706433/ and again 2130706433.", 2},
		{"http://0x7f.1/ then 0x7f.1, and mailto:x@0x7f.1 y@0x7f.1.", 4},
		{"http://a.example.com/ then 1.2.3 and a.m. and e.g. a.example.com", 2},
	} {
		r := ExtractText(tt.text, Limits{})
		if r.Mentions != tt.mentions {
			t.Errorf("ExtractText(%q) mentions = %d, want %d", tt.text, r.Mentions, tt.mentions)
		}
	}
}

// FuzzSeenShortcut checks that skipping the seen lookup for words without
// a domain's shape changes nothing: a collector that always looks finds
// the same hosts and counts the same mentions.
func FuzzSeenShortcut(f *testing.F) {
	for _, s := range []string{
		"http://2130706433/ 2130706433. http://0x7f.1/ 0x7f.1 x@0x7f.1",
		"a.example.com e.g. 1.2.3 report.pdf x@y.example.org x@Y.EXAMPLE.ORG mailto:z@1.2.3.4 z@1.2.3.4",
		"http://[::1]/ ::1 http://xn--bcher-kva.de/ bücher.de xn--bcher-kva.de",
	} {
		f.Add(s)
	}
	x := NewExtractor()
	f.Fuzz(func(t *testing.T, s string) {
		got := x.ExtractText(s, Limits{MaxHosts: 20})
		c := x.newCollector(Limits{MaxHosts: 20})
		c.part, c.res.Parts, c.res.Bytes = 1, 1, int64(len(s))
		c.oddSeen = true
		c.scanText([]byte(s), "text")
		if !reflect.DeepEqual(got, &c.res) {
			t.Fatalf("ExtractText(%q) = %+v\nalways looking up: %+v", s, got, &c.res)
		}
	})
}

// parseType answers from its cache as mime.ParseMediaType does, broken
// headers included.
func TestParseTypeCached(t *testing.T) {
	x := NewExtractor()
	for _, ct := range []string{
		"text/plain; charset=us-ascii", "TEXT/HTML; Charset=\"UTF-8\"", "multipart/mixed; boundary=\"b1\"",
		"text/plain; charset", "text/html;;", "Text/Plain; a=1; a=2", "image/", "",
	} {
		for range 2 { // the second time from the cache
			mt, params := x.parseType(ct, false)
			wmt, wparams, err := mime.ParseMediaType(ct)
			if err != nil && wmt == "" {
				wmt, _, _ = strings.Cut(ct, ";")
				wmt = strings.ToLower(strings.TrimSpace(wmt))
			}
			if ct == "" {
				wmt, wparams = "text/plain", nil
			}
			if mt != wmt || !reflect.DeepEqual(params, wparams) {
				t.Errorf("parseType(%q) = %q %v, want %q %v", ct, mt, params, wmt, wparams)
			}
		}
	}
}
