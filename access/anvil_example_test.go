package access_test

import (
	"context"
	"fmt"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// ExampleNewAnvil limits each client to two messages per minute, as
// smtpd_client_message_rate_limit = 2 does. With a redisstore.Store the
// hosts of a cluster share the count.
func ExampleNewAnvil() {
	a, err := access.NewAnvil(access.AnvilConfig{
		Store:            store.NewMemory(store.MemoryOptions{}),
		Hostname:         "mx.example.net",
		MessageRateLimit: 2,
	})
	if err != nil {
		panic(err)
	}
	check := a.Check()
	for range 3 {
		s := checktest.NewSession("192.0.2.1").From("a@example.org").At(smtpcheck.StageMail)
		r := check(context.Background(), s)
		if r.Action.Refuses() {
			fmt.Println(r.DefaultReply())
		} else {
			fmt.Println(r.Action)
		}
		access.Release(context.Background(), s) // when the connection closes
	}
	// Output:
	// continue
	// continue
	// 450 4.7.1 Error: too much mail from 192.0.2.1
}
