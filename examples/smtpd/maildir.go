package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// maildir writes accepted messages as .eml files: the Received: line and any
// headers the checks added, then the message byte for byte.
type maildir struct {
	dir string
	seq atomic.Uint64
}

// Stored mail is private to the server's user: files 0600 in directories
// 0700, whatever the umask (os.MkdirAll and OpenFile apply it), and a
// directory that exists with wider permissions is narrowed at start.
const (
	mailDirMode  = 0o700
	mailFileMode = 0o600
)

func newMaildir(dir string) (*maildir, error) {
	for _, d := range []string{dir, filepath.Join(dir, "quarantine")} {
		if err := os.MkdirAll(d, mailDirMode); err != nil {
			return nil, fmt.Errorf("-maildir: %w", err)
		}
		if err := os.Chmod(d, mailDirMode); err != nil {
			return nil, fmt.Errorf("-maildir: %w", err)
		}
	}
	return &maildir{dir: dir}, nil
}

// deliver stores msg whole or not at all: the Return-Path line when
// returnPath is set (the envelope sender, for mail this server relays),
// the Received line, the checks' header fields, then the message.
func (m *maildir) deliver(ctx context.Context, msg *gosmtp.Message, returnPath string) error {
	dir := m.dir
	if msg.Quarantine {
		dir = filepath.Join(dir, "quarantine")
	}
	name := fmt.Sprintf("%s-%d.eml", msg.Session.Conn.ID, m.seq.Add(1))
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mailFileMode)
	if err != nil {
		return err
	}
	// A umask can only narrow the mode; Chmod makes it exact.
	err = f.Chmod(mailFileMode)
	if err == nil && returnPath != "" {
		_, err = fmt.Fprintf(f, "Return-Path: <%s>\r\n", returnPath)
	}
	if err == nil {
		_, err = f.WriteString(msg.Received)
	}
	for _, h := range msg.Headers {
		if err == nil {
			_, err = fmt.Fprintf(f, "%s: %s\r\n", h.Name, h.Value)
		}
	}
	if err == nil {
		err = copyBody(f, msg.Data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	// The rename makes the file appear whole or not at all.
	return os.Rename(tmp, filepath.Join(dir, name))
}

// copyBody streams a message (which may be in a temporary file) to w.
func copyBody(w io.Writer, b smtpcheck.Body) error {
	rc, err := b.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
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
