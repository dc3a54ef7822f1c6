package spamd_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/smtppolicy/smtppolicy/scan/spamd"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// exampleSpamd stands in for spamd on a loopback port: it scores a message
// holding the word "viagra" 12.5, anything else 0.4.
func exampleSpamd() (addr string, stop func()) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			req, _ := io.ReadAll(c) // the client half-closes after the message
			if strings.Contains(string(req), "viagra") {
				io.WriteString(c, "SPAMD/1.1 0 EX_OK\r\nContent-length: 14\r\nSpam: True ; 12.5 / 5.0\r\n\r\nDRUGS_ERECTILE")
			} else {
				io.WriteString(c, "SPAMD/1.1 0 EX_OK\r\nContent-length: 9\r\nSpam: False ; 0.4 / 5.0\r\n\r\nNO_RELAYS")
			}
			c.Close()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }
}

func ExampleScanner_Check() {
	addr, stop := exampleSpamd()
	defer stop()
	sc, _ := spamd.New(spamd.Config{Address: addr, OnError: smtpcheck.FailTemp,
		Thresholds: smtpcheck.Thresholds{Reject: 10}})
	check := smtpcheck.Guard(sc.Check(), smtpcheck.Options{Name: spamd.Name})

	for _, body := range []string{"cheap viagra", "lunch on Tuesday?"} {
		s := &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Conn: smtpcheck.Conn{ID: "4F2A"}}
		s.Message = smtpcheck.BytesBody("Subject: hi\r\n\r\n" + body + "\r\n")
		r := check(context.Background(), s)
		fmt.Println(r.Action, r.Reason)
		if r.Action.Refuses() {
			fmt.Println(r.Reply)
		}
		for _, h := range r.Headers {
			fmt.Printf("%s: %s\n", h.Name, h.Value)
		}
	}
	// Output:
	// reject spamd rule=score-reject matched=12.5 evidence=required=5.0 tests=DRUGS_ERECTILE
	// 550 5.7.1 message 4F2A junk mail score 12.50/5.00
	// continue spamd rule=score matched=0.4 evidence=required=5.0 tests=NO_RELAYS
	// X-Spam-Flag: NO
	// X-Spam-Score: 0.4
	// X-Spam-Status: No, score=0.4 required=5.0 tests=NO_RELAYS
}

func ExampleScanner_Scan() {
	addr, stop := exampleSpamd()
	defer stop()
	sc, _ := spamd.New(spamd.Config{Address: addr})
	msg := "Subject: hi\r\n\r\ncheap viagra\r\n"
	v, err := sc.Scan(context.Background(), strings.NewReader(msg), int64(len(msg)))
	fmt.Println(v.Spam, v.Score, v.Required, v.Rules, err)
	// Output: true 12.5 5 [DRUGS_ERECTILE] <nil>
}

func ExampleScanner_Decide() {
	sc, _ := spamd.New(spamd.Config{Address: "127.0.0.1", Thresholds: smtpcheck.Thresholds{Tag: 4, Quarantine: 8, Reject: 15}})
	for _, score := range []float64{2, 5, 9, 20} {
		r := sc.Decide(nil, spamd.Verdict{Score: score, Required: 5})
		fmt.Println(score, r.Action)
	}
	// Output:
	// 2 continue
	// 5 tag
	// 9 quarantine
	// 20 reject
}

func ExampleParseReply() {
	v, err := spamd.ParseReply(strings.NewReader("SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE"))
	fmt.Println(v.Spam, v.Score, v.Rules, err)
	_, err = spamd.ParseReply(strings.NewReader("SPAMD/1.0 76 Bad header line: X\r\n"))
	fmt.Println(err)
	// Output:
	// true 1000 [GTUBE] <nil>
	// spamd: answered SPAMD/1.0 76 Bad header line: X
}

func ExampleError_Reply() {
	sc, _ := spamd.New(spamd.Config{Address: "127.0.0.1:1"}) // nothing listens on port 1
	_, err := sc.Scan(context.Background(), strings.NewReader("x"), 1)
	if e, ok := err.(*spamd.Error); ok {
		fmt.Println(e.Op, "->", e.Reply())
	}
	// Output: connect -> 451 4.4.0 spamd connect error: connection refused (111)
}
