package greylist_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// A first attempt is greylisted with the wait in the reply; the retry after
// the delay passes and gets an X-Greylist header.
func ExampleGreylist_Check() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	g, err := greylist.New(greylist.Config{
		Store:    store.NewMemory(store.MemoryOptions{Now: clock}),
		Now:      clock,
		Hostname: "mx.example.net",
	})
	if err != nil {
		panic(err)
	}
	check := g.Check()
	s := checktest.NewSession("192.0.2.10").From("alice@example.org").To("bob@example.net").Session()

	r := check(context.Background(), s)
	fmt.Println(r.Action, r.Reply)

	now = now.Add(5 * time.Minute)
	r = check(context.Background(), s)
	fmt.Println(r.Action, r.Reason.Rule, r.Headers[0].Name)
	// Output:
	// defer-if-permit 451 4.7.1 greylisted, try again in 300 seconds
	// continue passed X-Greylist
}

func ExampleNormalizeSender() {
	for _, a := range []string{"prvs=0123456789=Bounce-4711@Lists.Example.ORG", "news+weekly@example.org"} {
		fmt.Println(greylist.NormalizeSender(smtpcheck.ParseAddress(a)))
	}
	// Output:
	// bounce-#@lists.example.org
	// news@example.org
}

func ExampleClientNetwork() {
	fmt.Println(greylist.ClientNetwork(netip.MustParseAddr("192.0.2.77"), greylist.DefaultIPv4Prefix, greylist.DefaultIPv6Prefix))
	fmt.Println(greylist.ClientNetwork(netip.MustParseAddr("2001:db8:1:2::99"), greylist.DefaultIPv4Prefix, greylist.DefaultIPv6Prefix))
	// Output:
	// 192.0.2.0/24
	// 2001:db8:1:2::/64
}

// Pending lists what waits; Release lets a triplet through at once.
func ExampleGreylist_Release() {
	ctx := context.Background()
	g, _ := greylist.New(greylist.Config{Store: store.NewMemory(store.MemoryOptions{})})
	t := g.Triplet(netip.MustParseAddr("192.0.2.10"), smtpcheck.ParseAddress("alice@example.org"), smtpcheck.ParseAddress("bob@example.net"))
	d, _ := g.Attempt(ctx, t, "")
	fmt.Println(d.Outcome)
	g.Pending(ctx, func(w greylist.Waiting) error {
		fmt.Println("waiting:", w.Triplet)
		return nil
	})
	g.Release(ctx, t)
	d, _ = g.Attempt(ctx, t, "")
	fmt.Println(d.Outcome)
	// Output:
	// new
	// waiting: 192.0.2.0/24 <alice@example.org> <bob@example.net>
	// known
}

func ExampleGreylist_ContentCheck() {
	g, _ := greylist.New(greylist.Config{Store: store.NewMemory(store.MemoryOptions{})})
	s := checktest.NewSession("192.0.2.10").From("alice@example.org").To("bob@example.net").
		Message("Subject: hello\n\nhi\n").Session()
	r := g.ContentCheck()(context.Background(), s)
	fmt.Println(r.Action, r.Reply.Code())
	// Output:
	// defer-if-permit 451
}

func ExampleLargeSenders() {
	fmt.Println(greylist.LargeSenders()[0])
	// Output:
	// outlook.com
}

// Auto-allowing counts passes per client address, as postgrey does; with
// AutoAllowByNetwork a pass counts for the client's whole /24 or /64.
// AutoAllowOff turns it off; zero is the default count of five.
func ExampleConfig_autoAllow() {
	ctx := context.Background()
	for _, byNetwork := range []bool{false, true} {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		g, _ := greylist.New(greylist.Config{
			Store:              store.NewMemory(store.MemoryOptions{Now: clock}),
			Now:                clock,
			AutoAllow:          2,
			AutoAllowByNetwork: byNetwork,
		})
		client := netip.MustParseAddr("192.0.2.10")
		for _, rcpt := range []string{"a@example.net", "b@example.net"} {
			t := g.Triplet(client, smtpcheck.ParseAddress("alice@example.org"), smtpcheck.ParseAddress(rcpt))
			g.Attempt(ctx, t, "")
			now = now.Add(10 * time.Minute)
			g.Attempt(ctx, t, "") // passes
			now = now.Add(time.Hour)
		}
		neighbour := netip.MustParseAddr("192.0.2.11")
		d, _ := g.Attempt(ctx, g.Triplet(neighbour, smtpcheck.ParseAddress("carol@example.org"), smtpcheck.ParseAddress("c@example.net")), "")
		fmt.Printf("by network %v: neighbour %v, allowed by %q\n", byNetwork, d.Outcome, d.Allowed)
	}
	// Output:
	// by network false: neighbour new, allowed by ""
	// by network true: neighbour known, allowed by "auto-allow"
}
