package four21_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/four21"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// A server wraps its listener with the tester (and puts its check first
// at the connect stage): a client never seen gets the 421 from the
// listener, and its clean QUIT makes it known.
func ExampleTester_Listener() {
	tr, err := four21.New(four21.Config{Store: store.NewMemory(store.MemoryOptions{})})
	if err != nil {
		fmt.Println(err)
		return
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ln := tr.Listener(inner)
	defer ln.Close()
	go ln.Accept() // the server's accept loop

	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	r := bufio.NewReader(c)
	greeting, _ := r.ReadString('\n')
	fmt.Println(strings.TrimSpace(greeting))
	c.Write([]byte("QUIT\r\n"))
	bye, _ := r.ReadString('\n')
	fmt.Println(strings.TrimSpace(bye))
	c.Close()
	// Output:
	// 421 4.4.0 client unknown [127.0.0.1] unknown
	// 221 2.0.0 closing connection
}

// A client never seen has no state; the check lets it through (the
// listener is what tests it).
func ExampleTester_Check() {
	tr, _ := four21.New(four21.Config{Store: store.NewMemory(store.MemoryOptions{})})
	s := &smtpcheck.Session{Stage: smtpcheck.StageConnect}
	s.Conn.ClientIP = netip.MustParseAddr("192.0.2.1")
	st, _ := tr.State(context.Background(), s.Conn.ClientIP)
	fmt.Printf("%q %v\n", st, tr.Check()(context.Background(), s).Action)
	// Output: "" continue
}

// New needs a store.
func ExampleNew() {
	_, err := four21.New(four21.Config{})
	fmt.Println(err)
	// Output: four21: no store
}

// State reads what the store holds of an address.
func ExampleTester_State() {
	st := store.NewMemory(store.MemoryOptions{})
	st.Set(context.Background(), four21.DefaultPrefix+"192.0.2.7", []byte("fail"), 0)
	tr, _ := four21.New(four21.Config{Store: st})
	v, _ := tr.State(context.Background(), netip.MustParseAddr("192.0.2.7"))
	fmt.Println(v)
	// Output: fail
}
