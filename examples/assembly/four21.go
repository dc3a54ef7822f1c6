package assembly

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/four21"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// four21Params are smtpf's Four21 test's. The test answers a client
// itself before the server greets it, so only a front-end that owns the
// client's connection (an SMTP server, Env.Conn) runs it.
func four21Params() []Param {
	return []Param{
		{Name: "smtppolicy_four21_store", Flag: "four21", Kind: String, Conn: true, Doc: "test unknown client addresses with a 421 (smtpf's four21-unknown-ip), remembered in: memory:, bolt:PATH or redis://HOST:PORT/DB (empty: off; SMTP server only)"},
		{Name: "smtppolicy_four21_known_ttl", Flag: "four21-known-ttl", Kind: Duration, Default: four21.DefaultKnownTTL.String(), Conn: true, Doc: "how long a client that passed is known"},
		{Name: "smtppolicy_four21_block_ttl", Flag: "four21-block-ttl", Kind: Duration, Default: four21.DefaultBlockTTL.String(), Conn: true, Doc: "how long a client that failed is refused"},
		{Name: "smtppolicy_four21_wait", Flag: "four21-wait", Kind: Duration, Default: four21.DefaultWait.String(), Conn: true, Doc: "how long to wait for QUIT after the 421"},
	}
}

// buildFour21 is smtpf's Four21 test (four21-unknown-ip): with
// smtppolicy_four21_store a client address never seen is answered 421 and
// watched by the listener (Built.Listener); a clean QUIT makes it known
// for smtppolicy_four21_known_ttl, anything else refuses it with 554 5.4.0
// for smtppolicy_four21_block_ttl. The front-end's trusted networks
// (Env.MyNetworks) are never tested. The store is opened once: a reload
// keeps who is known.
func buildFour21(c *Config, env Env, st *Stores, b *Built) error {
	spec := c.Value("smtppolicy_four21_store")
	if !env.Conn || spec == "" || spec == "none" {
		return nil
	}
	s, err := st.more.get(env.Ctx, spec, c.where("smtppolicy_four21_store"))
	if err != nil {
		return err
	}
	trusted := env.MyNetworks
	tr, err := four21.New(four21.Config{Store: s, KnownTTL: c.durationValue("smtppolicy_four21_known_ttl"),
		BlockTTL: c.durationValue("smtppolicy_four21_block_ttl"), Wait: c.durationValue("smtppolicy_four21_wait"), Logger: env.Logger,
		Exempt: func(ip netip.Addr) bool {
			for _, p := range trusted {
				if p.Contains(ip) {
					return true
				}
			}
			return false
		}})
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_four21_store"), err)
	}
	env.Logger.Info("four21 test on", "store", daemon.RedactURL(spec), "known-ttl", c.Value("smtppolicy_four21_known_ttl"), "block-ttl", c.Value("smtppolicy_four21_block_ttl"))
	b.Connect = append(b.Connect, smtpcheck.Guard(tr.Check(), smtpcheck.Options{Name: four21.Name, Skip: []smtpcheck.Condition{smtpcheck.TrustedNetwork}}))
	b.Listener = func(l net.Listener) net.Listener { return tr.Listener(l) }
	b.Checks = append(b.Checks, four21.Name)
	return nil
}
