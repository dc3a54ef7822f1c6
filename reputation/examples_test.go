package reputation_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/smtppolicy/smtppolicy/reputation"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// A client refused three times is blocked; its network carries the
// refusals too, so a neighbour starts below zero.
func ExampleReputation() {
	s := store.NewMemory(store.MemoryOptions{})
	defer s.Close()
	r, _ := reputation.New(reputation.Config{Store: s, BlockAfter: 3})
	ctx := context.Background()
	bot := reputation.Client{IP: netip.MustParseAddr("192.0.2.7"), Domain: reputation.OrgDomain("mx1.example.net")}

	r.Learn(ctx, bot, 0, 3)
	sc, _ := r.Lookup(ctx, bot)
	fmt.Println("blocked:", !sc.BlockedUntil.IsZero())
	nb, _ := r.Lookup(ctx, reputation.Client{IP: netip.MustParseAddr("192.0.2.8")})
	fmt.Printf("neighbour: %.2f\n", nb.Value())
	// Output:
	// blocked: true
	// neighbour: -0.60
}
