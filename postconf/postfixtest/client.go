package postfixtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Reply is one SMTP reply.
type Reply struct {
	Code     int
	Enhanced string // "5.7.1", or empty
	Text     string // the lines' text after the codes, joined with "\n"
}

// Verdict is the reply's class: "accept" (2xx/3xx), "tempfail" (4xx),
// "reject" (5xx), or "none" for no reply.
func (r Reply) Verdict() string {
	switch {
	case r.Code == 0:
		return "none"
	case r.Code < 400:
		return "accept"
	case r.Code < 500:
		return "tempfail"
	}
	return "reject"
}

func (r Reply) String() string {
	if r.Code == 0 {
		return "(no reply)"
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, strings.SplitN(r.Text, "\n", 2)[0]))
}

// Client is a line-level SMTP client: it sends what it is told, however
// malformed, and reads replies.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to addr, from local when it is not empty (an address on
// loopback, such as 127.0.0.66, so the server sees that client), and reads
// the greeting.
func Dial(ctx context.Context, addr, local string) (*Client, Reply, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, Reply{}, err
	}
	return newClient(ctx, conn)
}

// newClient reads the greeting on conn.
func newClient(ctx context.Context, conn net.Conn) (*Client, Reply, error) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c := &Client{conn: conn, r: bufio.NewReader(conn)}
	greet, err := c.read()
	if err != nil {
		conn.Close()
		return nil, greet, err
	}
	return c, greet, nil
}

// Cmd sends one command line and reads its reply.
func (c *Client) Cmd(line string) (Reply, error) {
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return Reply{}, err
	}
	return c.read()
}

// Pipeline sends the command lines in one write, without waiting for
// replies (RFC 2920), then reads one reply per line.
func (c *Client) Pipeline(lines ...string) ([]Reply, error) {
	if _, err := c.conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n")); err != nil {
		return nil, err
	}
	var out []Reply
	for range lines {
		r, err := c.read()
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Close sends QUIT and closes the connection.
func (c *Client) Close() error {
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	c.Cmd("QUIT")
	return c.conn.Close()
}

func (c *Client) read() (Reply, error) {
	var r Reply
	var texts []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return r, err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return r, fmt.Errorf("short reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return r, fmt.Errorf("bad reply line %q", line)
		}
		r.Code = code
		rest := ""
		if len(line) > 4 {
			rest = line[4:]
		}
		if r.Enhanced == "" && len(texts) == 0 {
			if e, t, ok := strings.Cut(rest, " "); ok && isEnhanced(e) {
				r.Enhanced, rest = e, t
			} else if isEnhanced(rest) {
				r.Enhanced, rest = rest, ""
			}
		} else if e, t, ok := strings.Cut(rest, " "); ok && e == r.Enhanced {
			rest = t
		}
		texts = append(texts, rest)
		if len(line) == 3 || line[3] == ' ' {
			r.Text = strings.Join(texts, "\n")
			return r, nil
		}
	}
}

func isEnhanced(s string) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || (p[0] != "2" && p[0] != "4" && p[0] != "5") {
		return false
	}
	for _, x := range p[1:] {
		if _, err := strconv.Atoi(x); err != nil || len(x) > 3 {
			return false
		}
	}
	return true
}
