package main

import (
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// grammarClient is a raw SMTP client: it sends command lines exactly as
// given, which the usual clients (swaks, smtplib) would correct or refuse.
type grammarClient struct {
	t *testing.T
	c *textproto.Conn
}

func dialGrammar(t *testing.T, addr string) *grammarClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A server that stops answering fails the test instead of hanging it.
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	g := &grammarClient{t: t, c: c}
	if code, msg := g.read(); code != 220 {
		t.Fatalf("greeting = %d %s, want 220", code, msg)
	}
	if code, msg := g.cmd("EHLO mx.example.net"); code != 250 {
		t.Fatalf("EHLO = %d %s, want 250", code, msg)
	}
	return g
}

func (g *grammarClient) read() (int, string) {
	g.t.Helper()
	code, msg, err := g.c.ReadResponse(0)
	if err != nil && code == 0 {
		g.t.Fatalf("reading the reply: %v", err)
	}
	return code, msg
}

// cmd sends one command line and returns the reply's code and text
// (enhanced code included).
func (g *grammarClient) cmd(line string) (int, string) {
	g.t.Helper()
	if err := g.c.PrintfLine("%s", line); err != nil {
		g.t.Fatal(err)
	}
	return g.read()
}

// Paths at the RFC 5321 limit of 256 octets (4.5.3.1.3) and one over: a
// 64-octet local part and domains of labels within their own limits.
var (
	e2eLocal64   = strings.Repeat("l", 64)
	e2eDomain189 = strings.Repeat(strings.Repeat("d", 62)+".", 2) + strings.Repeat("d", 59) + ".org"
	e2eDomain190 = "x" + e2eDomain189
)

// A recipient path over 256 octets gets the catalog's 553 5.5.2 (smtpf#284)
// naming the rule, and one of exactly 256 octets is accepted, in a domain
// this server accepts.
func TestGrammarRecipientPathLength(t *testing.T) {
	s := startServer(t, "-domain", e2eDomain189, "-domain", e2eDomain190)
	g := dialGrammar(t, s.addr)
	if code, msg := g.cmd("MAIL FROM:<alice@example.net>"); code != 250 {
		t.Fatalf("MAIL = %d %s, want 250", code, msg)
	}
	long := "RCPT TO:<" + e2eLocal64 + "@" + e2eDomain190 + ">"
	if code, msg := g.cmd(long); code != 553 || !strings.HasPrefix(msg, "5.5.2 ") || !strings.Contains(msg, "path exceeds 256 octets") {
		t.Errorf("RCPT with a 257-octet path = %d %q, want 553 5.5.2 ... path exceeds 256 octets", code, msg)
	}
	if code, msg := g.cmd("RCPT TO:<" + e2eLocal64 + "@" + e2eDomain189 + ">"); code != 250 {
		t.Errorf("RCPT with a 256-octet path = %d %q, want 250", code, msg)
	}
}

// A sender path over 256 octets is refused with 553 5.5.2 (smtpf#279), at
// RCPT as the server delays its refusals, and no recipient is accepted for
// it; a 256-octet sender goes through.
func TestGrammarSenderPathLength(t *testing.T) {
	s := startServer(t, "-domain", "example.org", "-domain", e2eDomain189)
	g := dialGrammar(t, s.addr)
	if code, msg := g.cmd("MAIL FROM:<" + e2eLocal64 + "@" + e2eDomain190 + ">"); code != 250 {
		t.Fatalf("MAIL with a 257-octet path = %d %q, want 250 (the refusal is delayed to RCPT)", code, msg)
	}
	if code, msg := g.cmd("RCPT TO:<bob@example.org>"); code != 553 || !strings.HasPrefix(msg, "5.5.2 rejected sender") || !strings.Contains(msg, "path exceeds 256 octets") {
		t.Errorf("RCPT after a 257-octet sender = %d %q, want 553 5.5.2 rejected sender ... path exceeds 256 octets", code, msg)
	}
	if code, msg := g.cmd("RSET"); code != 250 {
		t.Fatalf("RSET = %d %q", code, msg)
	}
	if code, msg := g.cmd("MAIL FROM:<" + e2eLocal64 + "@" + e2eDomain189 + ">"); code != 250 {
		t.Fatalf("MAIL with a 256-octet path = %d %q, want 250", code, msg)
	}
	if code, msg := g.cmd("RCPT TO:<bob@example.org>"); code != 250 {
		t.Errorf("RCPT after a 256-octet sender = %d %q, want 250", code, msg)
	}
}

// MAIL FROM:<postmaster> has no domain: only RCPT may name postmaster alone
// (RFC 5321 4.5.1). It is refused as a syntax error (5.5.2), either at MAIL
// by the protocol layer (501) or, when the protocol layer lets it through,
// at RCPT by the sender grammar check (553, smtpf#279); no recipient is
// ever accepted for it.
func TestGrammarPostmasterSenderRefused(t *testing.T) {
	s := startServer(t)
	g := dialGrammar(t, s.addr)
	for _, from := range []string{"<postmaster>", "<Postmaster>", "<@relay.example:POSTMASTER>"} {
		t.Run(from, func(t *testing.T) {
			code, msg := g.cmd("MAIL FROM:" + from)
			switch code {
			case 501:
				if !strings.HasPrefix(msg, "5.5.2 ") {
					t.Errorf("MAIL FROM:%s = %d %q, want 501 5.5.2", from, code, msg)
				}
			case 250:
				code, msg = g.cmd("RCPT TO:<bob@example.org>")
				if code != 553 || !strings.HasPrefix(msg, "5.5.2 rejected sender") || !strings.Contains(msg, "no domain") {
					t.Errorf("RCPT after MAIL FROM:%s = %d %q, want 553 5.5.2 rejected sender ... no domain", from, code, msg)
				}
			default:
				t.Errorf("MAIL FROM:%s = %d %q, want 501 5.5.2 at MAIL or 553 5.5.2 at RCPT", from, code, msg)
			}
			if code, msg := g.cmd("RSET"); code != 250 {
				t.Fatalf("RSET = %d %q", code, msg)
			}
		})
	}
	// The same session still takes a sender with a domain.
	if code, msg := g.cmd("MAIL FROM:<postmaster@example.net>"); code != 250 {
		t.Fatalf("MAIL FROM:<postmaster@example.net> = %d %q, want 250", code, msg)
	}
	if code, msg := g.cmd("RCPT TO:<bob@example.org>"); code != 250 {
		t.Errorf("RCPT after MAIL FROM:<postmaster@example.net> = %d %q, want 250", code, msg)
	}
}
