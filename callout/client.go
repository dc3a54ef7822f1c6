package callout

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Limits on what a probed server may send: a reply longer than any real
// server gives is a broken or hostile peer, not a verdict.
const (
	maxLine  = 1024 // octets in one reply line (RFC 5321 4.5.3.1.5: 512)
	maxLines = 64   // lines in one reply (a long EHLO answer has about 15)
)

// errReply is a reply that is not SMTP: the host is broken, so another MX
// host is tried.
var errReply = errors.New("not an SMTP reply")

// serverReply is one reply read from a probed server.
type serverReply struct {
	Code int
	Text string // the lines' text after the code, joined by a space
}

func (r serverReply) String() string {
	if r.Text == "" {
		return strconv.Itoa(r.Code)
	}
	return strconv.Itoa(r.Code) + " " + r.Text
}

// readReply reads one reply, possibly of several lines ("250-..." then
// "250 ..."), at most maxLines lines of maxLine octets, all with the same
// code (RFC 5321 4.2.1).
func readReply(br *bufio.Reader) (serverReply, error) {
	var r serverReply
	var text strings.Builder
	for n := 0; ; n++ {
		if n == maxLines {
			return r, fmt.Errorf("%w: more than %d lines", errReply, maxLines)
		}
		line, err := readLine(br)
		if err != nil {
			return r, err
		}
		if len(line) < 3 || (len(line) > 3 && line[3] != ' ' && line[3] != '-') {
			return r, fmt.Errorf("%w: %q", errReply, clip(line))
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 200 || code > 599 {
			return r, fmt.Errorf("%w: %q", errReply, clip(line))
		}
		if n == 0 {
			r.Code = code
		} else if code != r.Code {
			return r, fmt.Errorf("%w: code %d after %d", errReply, code, r.Code)
		}
		if len(line) > 4 {
			if text.Len() > 0 {
				text.WriteByte(' ')
			}
			text.WriteString(printable(line[4:]))
		}
		if len(line) == 3 || line[3] == ' ' {
			r.Text = text.String()
			return r, nil
		}
	}
}

// readLine reads one line without its CRLF (or bare LF), refusing a line
// longer than maxLine.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(b)+len(chunk) > maxLine+2 {
			return "", fmt.Errorf("%w: line longer than %d octets", errReply, maxLine)
		}
		b = append(b, chunk...)
		switch {
		case err == nil:
			return strings.TrimRight(string(b), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(b) > 0:
			return "", fmt.Errorf("%w: connection closed inside a line", errReply)
		}
		return "", err
	}
}

// printable replaces control octets and non-ASCII with '?', so a reply
// quoted in a log line or in our own reply cannot break either.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] < 0x20 || b[j] > 0x7e {
					b[j] = '?'
				}
			}
			return string(b)
		}
	}
	return s
}

func clip(s string) string {
	if len(s) > 80 {
		return printable(s[:80]) + "..."
	}
	return printable(s)
}

// dialogue is the outcome of one SMTP conversation with one host.
type dialogue struct {
	// step is the last step reached: stepConnect .. stepRcpt.
	step string
	// reply is the server's answer at that step, when one came.
	reply serverReply
	// err is set when the conversation broke off (refused, timed out,
	// closed, garbage): the host said nothing about the address.
	err error
}

// probe holds what one conversation needs.
type probe struct {
	helo, sender, rcpt string
	connect, command   time.Duration
	dialer             func(ctx context.Context, network, address string) (net.Conn, error)
}

// talk connects to addr and asks about rcpt: greeting, EHLO (HELO when EHLO
// is refused), MAIL FROM, RCPT TO, then QUIT. It never sends DATA. Every
// read and write is bounded by the command timeout and by ctx's deadline,
// whichever comes first; ctx's end also cuts the conversation off.
func (p *probe) talk(ctx context.Context, addr netip.AddrPort) dialogue {
	d := dialogue{step: StepConnect}
	cctx, cancel := context.WithTimeout(ctx, p.connect)
	conn, err := p.dialer(cctx, "tcp", addr.String())
	cancel()
	if err != nil {
		d.err = err
		return d
	}
	defer conn.Close()
	// A context that ends cuts a read or write off at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	br := bufio.NewReaderSize(conn, 512)
	arm := func() {
		dl := time.Now().Add(p.command)
		if c, ok := ctx.Deadline(); ok && c.Before(dl) {
			dl = c
		}
		conn.SetDeadline(dl)
	}
	send := func(cmd string) error {
		arm()
		_, err := io.WriteString(conn, cmd+"\r\n")
		return err
	}
	read := func() (serverReply, error) {
		arm()
		return readReply(br)
	}
	d.step = StepGreeting
	if d.reply, d.err = read(); d.err != nil || d.reply.Code != 220 {
		return d
	}
	d.step = StepHelo
	if d.err = send("EHLO " + p.helo); d.err != nil {
		return d
	}
	if d.reply, d.err = read(); d.err != nil {
		return d
	}
	if d.reply.Code >= 500 {
		if d.err = send("HELO " + p.helo); d.err != nil {
			return d
		}
		if d.reply, d.err = read(); d.err != nil {
			return d
		}
	}
	if d.reply.Code != 250 {
		return d
	}
	d.step = StepMail
	if d.err = send("MAIL FROM:<" + p.sender + ">"); d.err != nil {
		return d
	}
	if d.reply, d.err = read(); d.err != nil || d.reply.Code/100 != 2 {
		p.quit(ctx, conn, br)
		return d
	}
	d.step = StepRcpt
	if d.err = send("RCPT TO:<" + p.rcpt + ">"); d.err != nil {
		return d
	}
	d.reply, d.err = read()
	if d.err == nil {
		p.quit(ctx, conn, br)
	}
	return d
}

// quit ends the conversation politely, without waiting long: the verdict is
// known, and a server slow to say goodbye must not hold it up.
func (p *probe) quit(ctx context.Context, conn net.Conn, br *bufio.Reader) {
	dl := time.Now().Add(time.Second)
	if c, ok := ctx.Deadline(); ok && c.Before(dl) {
		dl = c
	}
	conn.SetDeadline(dl)
	if _, err := io.WriteString(conn, "QUIT\r\n"); err == nil {
		readReply(br)
	}
}
