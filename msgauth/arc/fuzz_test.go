package arc_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/msgauth/arc"
)

// fuzzKey is fixed so the committed seeds' seals verify.
var fuzzKey = ed25519.NewKeyFromSeed([]byte("arc fuzz seed: not a secret key!"))

// mapResolver answers from a map, without the network.
type mapResolver map[string]string

func (m mapResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := m[name]; ok {
		return []string{v}, nil
	}
	return nil, errors.New("no such name")
}

func fuzzResolver() mapResolver {
	rec := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(fuzzKey.Public().(ed25519.PublicKey))
	return mapResolver{"ed._domainkey." + list: rec, "ed._domainkey." + fwd: rec}
}

func fuzzSeal(msg, d string, chain arc.State) (string, error) {
	set, err := arc.Sign(strings.NewReader(msg), &arc.SignOptions{Domain: d, Selector: "ed", Signer: fuzzKey, Chain: chain,
		AuthResults: d + "; arc=" + string(chain), Now: func() time.Time { return time.Unix(1764867600, 0) }})
	return set + msg, err
}

// FuzzVerify feeds Verify any message: it never panics, its state agrees
// with its error, and a chain it passes still passes once sealed again.
func FuzzVerify(f *testing.F) {
	res := fuzzResolver()
	one, _ := fuzzSeal(original, list, arc.None)
	two, _ := fuzzSeal(one, fwd, arc.Pass)
	f.Add([]byte(two))
	f.Add([]byte(original))
	f.Fuzz(func(t *testing.T, msg []byte) {
		ctx := t.Context()
		r, err := arc.Verify(ctx, strings.NewReader(string(msg)), res)
		if err != nil {
			t.Fatalf("Verify of bytes in memory: %v", err)
		}
		switch r.State {
		case arc.None:
			if r.Err != nil || len(r.Sets) != 0 {
				t.Fatalf("none with %v and %d sets", r.Err, len(r.Sets))
			}
		case arc.Pass:
			if r.Err != nil || len(r.Sets) == 0 {
				t.Fatalf("pass with %v and %d sets", r.Err, len(r.Sets))
			}
		case arc.Fail:
			if r.Err == nil {
				t.Fatal("fail without an error")
			}
		default:
			t.Fatalf("state %q", r.State)
		}
		if len(msg) > 0 && (msg[0] == ' ' || msg[0] == '\t') {
			return // a continuation line would join the field put above it
		}
		sealed, err := fuzzSeal(string(msg), list, r.State)
		if err != nil {
			return // no From:, or a chain at its longest
		}
		again, _ := arc.Verify(ctx, strings.NewReader(sealed), res)
		want := r.State
		if want == arc.None {
			want = arc.Pass
		}
		if again.State != want {
			t.Fatalf("sealed over a %s chain: %s (%v), want %s", r.State, again.State, again.Err, want)
		}
	})
}
