package clamd_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/smtppolicy/smtppolicy/scan/clamd"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// exampleClamd stands in for clamd on a loopback port: it reads one INSTREAM
// request and answers as clamd does for a message holding the word "virus".
func exampleClamd() (addr string, stop func()) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			br.ReadString(0) // zINSTREAM
			var msg strings.Builder
			for {
				var n [4]byte
				io.ReadFull(br, n[:])
				size := int64(n[0])<<24 | int64(n[1])<<16 | int64(n[2])<<8 | int64(n[3])
				if size == 0 {
					break
				}
				io.CopyN(&msg, br, size)
			}
			if strings.Contains(msg.String(), "virus") {
				io.WriteString(c, "stream: Example.Virus FOUND\x00")
			} else {
				io.WriteString(c, "stream: OK\x00")
			}
			c.Close()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }
}

func ExampleScanner_Scan() {
	addr, stop := exampleClamd()
	defer stop()
	sc, err := clamd.New(clamd.Config{Address: addr})
	if err != nil {
		panic(err)
	}
	v, err := sc.Scan(context.Background(), strings.NewReader("Subject: hi\r\n\r\na virus\r\n"))
	fmt.Println(v.Infected, v.Virus, err)
	// Output: true Example.Virus <nil>
}

func ExampleScanner_Check() {
	addr, stop := exampleClamd()
	defer stop()
	sc, _ := clamd.New(clamd.Config{Address: addr, OnError: smtpcheck.FailTemp})
	check := smtpcheck.Guard(sc.Check(), smtpcheck.Options{Name: clamd.Name, Skip: []smtpcheck.Condition{smtpcheck.TrustedNetwork}})

	s := &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Conn: smtpcheck.Conn{ID: "4F2A"}}
	s.Message = smtpcheck.BytesBody("Subject: hi\r\n\r\na virus\r\n")
	r := check(context.Background(), s)
	fmt.Println(r.Action, r.Reply)
	fmt.Println(r.Reason)
	// Output:
	// reject 550 5.7.1 message 4F2A is INFECTED with Example.Virus
	// clamd rule=found matched=Example.Virus evidence=stream: Example.Virus FOUND
}

func ExampleParseReply() {
	v, err := clamd.ParseReply("stream: Win.Test.EICAR_HDB-1 FOUND\x00")
	fmt.Println(v.Infected, v.Virus, err)
	_, err = clamd.ParseReply("INSTREAM size limit exceeded. ERROR\x00")
	fmt.Println(err)
	// Output:
	// true Win.Test.EICAR_HDB-1 <nil>
	// clamd: INSTREAM size limit exceeded
}

func ExampleParseAction() {
	for _, w := range []string{"reject", "discard", "none"} {
		a, _ := clamd.ParseAction(w)
		fmt.Println(w, "->", a)
	}
	// Output:
	// reject -> reject
	// discard -> discard
	// none -> tag
}

func ExampleError_Reply() {
	sc, _ := clamd.New(clamd.Config{Address: "127.0.0.1:1"}) // nothing listens on port 1
	_, err := sc.Scan(context.Background(), strings.NewReader("Subject: hi\r\n\r\nhello\r\n"))
	if e, ok := err.(*clamd.Error); ok {
		fmt.Println(e.Op, "->", e.Reply())
	}
	// Output: connect -> 451 4.4.0 clamd connect error: connection refused (111)
}
