package duplicate_test

import (
	"context"
	"fmt"

	"github.com/smtppolicy/smtppolicy/duplicate"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// The second copy of a message to the same recipient is refused once the
// first was accepted (Record).
func ExampleDetector_Check() {
	c, err := duplicate.New(duplicate.Config{Store: store.NewMemory(store.MemoryOptions{})})
	if err != nil {
		fmt.Println(err)
		return
	}
	msg := smtpcheck.BytesBody("Message-ID: <1@example.net>\r\n\r\nHello\r\n")
	for range 2 {
		h, body, _ := smtpcheck.SplitMessage(msg)
		s := &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Header: h, Body: body, Message: msg,
			Rcpts: []smtpcheck.Address{smtpcheck.ParseAddress("bob@example.org")}}
		r := c.Check()(context.Background(), s)
		fmt.Println(r.Action, r.DefaultReply())
		if r.Action == smtpcheck.Continue {
			c.Record(context.Background(), s) // accepted and delivered
		}
	}
	// Output:
	// continue 250 2.0.0 OK
	// reject 550 5.3.4 duplicate message rejected
}

// Keys names what the store remembers: a hash per key kind.
func ExampleDetector_Keys() {
	c, _ := duplicate.New(duplicate.Config{Store: store.NewMemory(store.MemoryOptions{}), NoBody: true})
	h, _, _ := smtpcheck.SplitMessage(smtpcheck.BytesBody("Message-ID: <1@example.net>\r\n\r\n"))
	keys, _ := c.Keys(&smtpcheck.Session{Header: h})
	fmt.Println(len(keys), keys[0][:8], len(keys[0]))
	// Output: 1 dup:mid: 72
}

// A message let through but then not taken (a later check deferred it,
// delivery failed) is not recorded: the client's retry passes, once the
// first session's claim is released.
func ExampleDetector_Record() {
	c, _ := duplicate.New(duplicate.Config{Store: store.NewMemory(store.MemoryOptions{})})
	msg := smtpcheck.BytesBody("Message-ID: <2@example.net>\r\n\r\nHello\r\n")
	try := func(id string) *smtpcheck.Session {
		h, body, _ := smtpcheck.SplitMessage(msg)
		s := &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Header: h, Body: body, Message: msg,
			Rcpts: []smtpcheck.Address{smtpcheck.ParseAddress("bob@example.org")}}
		s.Conn.ID = id
		r := c.Check()(context.Background(), s)
		fmt.Println(id, r.Action, r.DefaultReply())
		return s
	}
	first := try("A")                      // passes, then delivery fails: 451
	try("B")                               // meanwhile: wait
	c.Release(context.Background(), first) // A's session ends
	retry := try("B")                      // taken this time
	c.Record(context.Background(), retry)  // accepted and delivered
	try("C")                               // a copy now
	// Output:
	// A continue 250 2.0.0 OK
	// B tempfail 451 4.7.0 try again later
	// B continue 250 2.0.0 OK
	// C reject 550 5.3.4 duplicate message rejected
}

// New needs a store.
func ExampleNew() {
	_, err := duplicate.New(duplicate.Config{})
	fmt.Println(err)
	// Output: duplicate: no store
}

// Release, at the end of a session, gives up the claims of the messages
// it let through but never saw taken, so that another session's copy need
// not wait for the claim to run out.
func ExampleDetector_Release() {
	c, _ := duplicate.New(duplicate.Config{Store: store.NewMemory(store.MemoryOptions{})})
	msg := smtpcheck.BytesBody("Message-ID: <3@example.net>\r\n\r\nHello\r\n")
	session := func(id string) *smtpcheck.Session {
		h, body, _ := smtpcheck.SplitMessage(msg)
		s := &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Header: h, Body: body, Message: msg,
			Rcpts: []smtpcheck.Address{smtpcheck.ParseAddress("bob@example.org")}}
		s.Conn.ID = id
		return s
	}
	a := session("A")
	c.Check()(context.Background(), a) // claimed; then the client leaves
	fmt.Println(c.Check()(context.Background(), session("B")).Action)
	c.Release(context.Background(), a)
	fmt.Println(c.Check()(context.Background(), session("B")).Action)
	// Output:
	// tempfail
	// continue
}
