package access_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

func ExampleParse() {
	m, err := access.Parse(strings.NewReader(`
Connect:192.0.2          REJECT
Connect:192.0.2.25       OK
From:example.org         REJECT:"550 5.7.1 no mail from example.org"
`), "access.map")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Len(), "keys")
	// Output: 3 keys
}

func ExampleParse_error() {
	_, err := access.Parse(strings.NewReader("Connect:192.0.2 OK\nFrom:example.org FROB\n"), "access.map")
	fmt.Println(err)
	// Output: access.map:2: From:example.org: bad value: unknown action "FROB"
}

func ExampleMap_Connect() {
	m, _ := access.Parse(strings.NewReader("Connect:192.0.2 REJECT\nConnect:192.0.2.25 SKIP\n"), "access.map")
	for _, ip := range []string{"192.0.2.25", "192.0.2.26"} {
		h := m.Connect(access.Client{IP: checktest.NewSession(ip).Session().Conn.ClientIP})
		fmt.Println(ip, h.Key, h.Value.Verdict.Action)
	}
	// Output:
	// 192.0.2.25 connect:192.0.2.25 SKIP
	// 192.0.2.26 connect:192.0.2 REJECT
}

func ExampleMap_Body() {
	m, _ := access.Parse(strings.NewReader("Body:example.com OK\nBody:bad.example REJECT\n"), "access.map")
	v, key, found := m.Body("www.bad.example")
	fmt.Println(v.Action, key, found)
	// Output: REJECT body:bad.example true
}

func ExampleAccess_Check() {
	a, _ := access.New(access.Config{})
	m, _ := access.Parse(strings.NewReader("From:spam.example REJECT\nTo:postmaster@ OK\n"), "access.map")
	a.Swap(m)
	check := a.Check()
	s := checktest.NewSession("198.51.100.1").From("someone@spam.example").Session()
	r := check(context.Background(), s)
	fmt.Println(r.Action, r.Reply.Error())
	// Output: reject 550 5.7.1 sender <someone@spam.example> black listed
}

func ExampleAccess_Limits() {
	a, _ := access.New(access.Config{Store: store.NewMemory(store.MemoryOptions{})})
	m, _ := access.Parse(strings.NewReader("Concurrent-Connect: 1\n"), "access.map")
	a.Swap(m)
	limits := smtpcheck.Guard(a.Limits(), smtpcheck.Options{Name: access.LimitsName, OnError: smtpcheck.FailOpen})
	ctx := context.Background()
	first := checktest.NewSession("198.51.100.1").Session()
	fmt.Println(limits(ctx, first).Action)
	fmt.Println(limits(ctx, checktest.NewSession("198.51.100.1").Session()).Reply.Error())
	access.Release(ctx, first) // the adapter calls this when the connection closes
	fmt.Println(limits(ctx, checktest.NewSession("198.51.100.1").Session()).Action)
	// Output:
	// continue
	// 421 4.7.1 client unknown [198.51.100.1] too many concurrent connections, max=1
	// continue
}

func ExampleAccess_GreyPeriod() {
	a, _ := access.New(access.Config{})
	m, _ := access.Parse(strings.NewReader("Grey-Connect:198.51.100 10m\nGrey-To:fast@example.com 1m\n"), "access.map")
	a.Swap(m)
	s := checktest.NewSession("198.51.100.1").From("a@example.org").To("fast@example.com").Session()
	d, ok := a.GreyPeriod(context.Background(), s)
	fmt.Println(d, ok, d == time.Minute)
	// Output: 1m0s true true
}

func ExampleRelease() {
	s := checktest.NewSession("198.51.100.1").Session()
	access.Release(context.Background(), s) // safe for a session that took no slot
	fmt.Println("released")
	// Output: released
}

func ExampleState() {
	a, _ := access.New(access.Config{})
	m, _ := access.Parse(strings.NewReader("Connect:198.51.100 CONTENT\n"), "access.map")
	a.Swap(m)
	s := checktest.NewSession("198.51.100.1").Session()
	a.Check()(context.Background(), s)
	v, key := access.State(s)
	fmt.Println(v.Action, key)
	// Output: CONTENT connect:198.51.100
}
