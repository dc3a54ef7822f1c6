package main

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/examples/internal/maildir"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// store writes accepted messages as .eml files in -maildir (quarantined
// ones in its quarantine/): the Received: line and any headers the checks
// added, then the message byte for byte. Package maildir makes each file
// private, whole and synced before the client hears 250.
type store struct {
	dir *maildir.Dir
	seq atomic.Uint64
}

const quarantine = "quarantine"

func newStore(dir string) (*store, error) {
	d, err := maildir.Open(dir, quarantine)
	if err != nil {
		return nil, err
	}
	return &store{dir: d}, nil
}

// deliver stores msg whole or not at all: the Return-Path line when
// returnPath is set (the envelope sender, for mail this server relays),
// the Received line, the checks' header fields, then the message.
func (s *store) deliver(ctx context.Context, msg *gosmtp.Message, returnPath string) error {
	sub := ""
	if msg.Quarantine {
		sub = quarantine
	}
	name := msg.Session.Conn.ID + "-" + strconv.FormatUint(s.seq.Add(1), 10) + ".eml"
	rc, err := msg.Data.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return s.dir.Deliver(ctx, sub, name, head(msg, returnPath), rc)
}

// head is what goes before the message: the Return-Path line when
// returnPath is set, the Received line, the checks' header fields.
func head(msg *gosmtp.Message, returnPath string) []byte {
	n := len(msg.Received)
	for _, h := range msg.Headers {
		n += len(h.Name) + len(h.Value) + 4
	}
	if returnPath != "" {
		n += len(returnPath) + len("Return-Path: <>\r\n")
	}
	b := make([]byte, 0, n)
	if returnPath != "" {
		b = append(append(append(b, "Return-Path: <"...), returnPath...), ">\r\n"...)
	}
	b = append(b, msg.Received...)
	for _, h := range msg.Headers {
		b = append(append(append(append(b, h.Name...), ": "...), h.Value...), "\r\n"...)
	}
	return b
}

// returnPath is the envelope sender to record for s's message: tagged by
// signer when the message is outgoing (batv.Outgoing: a trusted or
// authenticated client's mail to a domain not in ours), so the bounces
// that come back verify; "" otherwise, when nothing is recorded.
func returnPath(signer *batv.Signer, s *smtpcheck.Session, ours []string) string {
	if signer == nil || !batv.Outgoing(s, ours) {
		return ""
	}
	return signer.Sign(s.Mail.From.String(), time.Now())
}
