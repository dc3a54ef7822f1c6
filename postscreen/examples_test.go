package postscreen_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/smtppolicy/smtppolicy/postscreen"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// A client that passed the tests skips them on its next connection; a
// client in mynetworks never takes them.
func ExampleScreen() {
	s := store.NewMemory(store.MemoryOptions{})
	defer s.Close()
	cache, _ := postscreen.NewCache(postscreen.CacheConfig{Store: s})
	enabled := postscreen.Tests(0).With(postscreen.Pregreet).With(postscreen.DNSBL)
	sc := postscreen.New(postscreen.Config{
		Cache:   cache,
		Enabled: enabled,
		Access:  postscreen.AccessList{{MyNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}},
	})
	ctx := context.Background()
	bot := netip.MustParseAddr("192.0.2.7")

	fmt.Println("first:", sc.Begin(ctx, bot).Todo)
	sc.Finish(ctx, bot, enabled, 0, 0) // it passed both
	fmt.Println("again: cached", sc.Begin(ctx, bot).Cached)
	fmt.Println("mynetworks:", sc.Begin(ctx, netip.MustParseAddr("10.0.0.5")).Access)
	// Output:
	// first: pregreet,dnsbl
	// again: cached true
	// mynetworks: permit
}
