package storespec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	ctx := t.Context()
	bolt := "bolt:" + filepath.Join(t.TempDir(), "g.db")
	tests := []struct {
		name, spec string
		redis      bool
	}{
		{"memory", "memory:", false},
		{"bolt", bolt, false},
		{"redis", "redis://127.0.0.1:6379/0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, tt.spec)
			if tt.redis && err != nil && os.Getenv("SMTPPOLICY_REQUIRE_REDIS") != "1" {
				t.Skipf("no Redis: %v", err)
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.spec, err)
			}
			defer s.Close()
			key := "storespec-test:" + tt.name
			if err := s.Set(ctx, key, []byte("v"), time.Minute); err != nil {
				t.Fatalf("Set: %v", err)
			}
			v, ok, err := s.Get(ctx, key)
			if string(v) != "v" || !ok || err != nil {
				t.Errorf("Get(%q) = %q, %v, %v, want v", key, v, ok, err)
			}
			s.Delete(ctx, key)
		})
	}
}

func TestOpenBadSpec(t *testing.T) {
	for _, spec := range []string{"", "bolt:", "mysql://x", "redis://127.0.0.1:6379/notanumber"} {
		if _, err := Open(t.Context(), spec); !errors.Is(err, ErrSpec) {
			t.Errorf("Open(%q) error = %v, want ErrSpec", spec, err)
		}
	}
}

func TestOpenRedisDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	// port 1 on loopback: nothing listens there
	if _, err := Open(ctx, "redis://127.0.0.1:1/0"); err == nil || errors.Is(err, ErrSpec) {
		t.Errorf("Open(redis on a closed port) = %v, want an unavailable error", err)
	}
}

// A Redis store speaks RESP2 unless its URL asks for another protocol:
// the store has no use for RESP3's push notifications, which the client
// otherwise looks for around every command. Greylisting records and the
// compare-and-set script's replies read the same either way.
func TestOpenRedisProtocol(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  int
	}{{"", 2}, {"?protocol=3", 3}, {"?protocol=2", 2}} {
		spec := "redis://127.0.0.1:6379/9" + tt.query
		s, err := Open(t.Context(), spec)
		if err != nil && os.Getenv("SMTPPOLICY_REQUIRE_REDIS") != "1" {
			t.Skipf("no Redis: %v", err)
		}
		if err != nil {
			t.Fatalf("Open(%q): %v", spec, err)
		}
		if got := s.(*owned).c.Options().Protocol; got != tt.want {
			t.Errorf("Open(%q): protocol %d, want %d", spec, got, tt.want)
		}
		key := "storespec-test:protocol"
		err = s.Update(t.Context(), key, func(old []byte, ok bool) ([]byte, time.Duration, error) {
			return append(old, 'x'), time.Minute, nil
		})
		if err != nil {
			t.Errorf("Open(%q): Update: %v", spec, err)
		}
		if v, ok, err := s.Get(t.Context(), key); !ok || err != nil || len(v) == 0 {
			t.Errorf("Open(%q): Get after Update = %q, %v, %v", spec, v, ok, err)
		}
		s.Delete(t.Context(), key)
		s.Close()
	}
}
