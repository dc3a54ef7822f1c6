package resolver_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Addrs and Texts give the records a check reads as Go values, whatever
// the question's type, and nothing for records of other types.
func TestAnswerTypedValues(t *testing.T) {
	srv := testZone(t)
	r := newResolver(t, resolver.Config{}, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	tests := []struct {
		name  string
		qtype uint16
		addrs []netip.Addr
		texts []string
	}{
		{"mx1.example.test", resolver.TypeA, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil},
		{"mx1.example.test", resolver.TypeAAAA, []netip.Addr{netip.MustParseAddr("2001:db8::1")}, nil},
		{"alias.example.test", resolver.TypeA, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil},
		{"long.example.test", resolver.TypeTXT, nil, []string{"part one part two"}},
		{"example.test", resolver.TypeMX, nil, nil},
		{"absent.example.test", resolver.TypeA, nil, nil},
	}
	for _, tt := range tests {
		a, err := r.Query(ctx, tt.name, tt.qtype)
		if err != nil {
			t.Fatalf("Query(%q, %d): %v", tt.name, tt.qtype, err)
		}
		if got := a.Addrs(); !slices.Equal(got, tt.addrs) {
			t.Errorf("Query(%q, %d).Addrs() = %v, want %v", tt.name, tt.qtype, got, tt.addrs)
		}
		if got := a.Texts(); !slices.Equal(got, tt.texts) {
			t.Errorf("Query(%q, %d).Texts() = %q, want %q", tt.name, tt.qtype, got, tt.texts)
		}
		buf := make([]netip.Addr, 1, 4)
		if got := a.AppendAddrs(buf); len(got) != 1+len(tt.addrs) || !slices.Equal(got[1:], tt.addrs) {
			t.Errorf("Query(%q, %d).AppendAddrs(1 element) = %v, want the element then %v", tt.name, tt.qtype, got, tt.addrs)
		}
	}
}

func ExampleAnswer_Addrs() {
	srv := exampleServer()
	defer srv.Close()
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	a, err := r.Query(context.Background(), "mx.example.test", resolver.TypeA)
	fmt.Println(a.Addrs(), err)
	// Output: [192.0.2.1] <nil>
}

func ExampleAnswer_Texts() {
	srv := exampleServer()
	defer srv.Close()
	srv.Add(`example.test. 3600 IN TXT "v=spf1 " "-all"`)
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	a, err := r.Query(context.Background(), "example.test", resolver.TypeTXT)
	fmt.Println(a.Texts(), err)
	// Output: [v=spf1 -all] <nil>
}
