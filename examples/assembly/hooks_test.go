package assembly

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// The callbacks run the hooks in force at each call, so a reload's take
// over, and a hook that fails is logged without stopping the others.
func TestHookCallbacksRunTheHooksInForce(t *testing.T) {
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	var ran []string
	hook := func(name string, err error) Hook {
		return func(context.Context, *smtpcheck.Session) error {
			ran = append(ran, name)
			return err
		}
	}
	inForce := []Hook{hook("old", nil)}
	accepted := OnAccepted(func() []Hook { return inForce }, logger)
	closed := OnClose(func() []Hook { return inForce }, logger)
	s := &smtpcheck.Session{Conn: smtpcheck.Conn{ID: "S1"}}

	accepted(t.Context(), s)
	inForce = []Hook{hook("failing", errors.New("store down")), hook("new", nil)}
	accepted(t.Context(), s)
	closed(s)

	if got, want := strings.Join(ran, " "), "old failing new failing new"; got != want {
		t.Errorf("hooks ran %q, want %q", got, want)
	}
	for _, want := range []string{`msg="message accepted, but not remembered" session=S1 error="store down"`, `msg="session end not recorded" session=S1 error="store down"`} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log.String())
		}
	}
}
