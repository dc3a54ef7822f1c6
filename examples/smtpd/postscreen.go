package main

import (
	"context"
	"flag"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/reputation"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// postscreenFlags runs postscreen(8)'s tests, set by the assembly's
// postscreen_* parameters (and their -postscreen-* flags): the pregreet
// test (postscreen_greet_wait, or -greet-pause), the deep protocol tests,
// the DNS lists of postscreen_dnsbl_sites, the pass cache
// (postscreen_cache_map, shared by a cluster on Redis) and
// postscreen_access_list. The screen is made by the first build; a reload
// keeps it (the DNS lists and the access list's tables are rebuilt).
func postscreenFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	return func(env *buildEnv) (staged, error) {
		st, err := env.Assembly.Part("postscreen")
		if err != nil {
			return staged{}, err
		}
		ps := env.Assembly.Built().Postscreen
		if ps == nil {
			return staged{Stages: st}, nil
		}
		return staged{
			Stages: st,
			Configure: []func(*gosmtp.Config){func(c *gosmtp.Config) {
				c.Postscreen = ps.Screen
				if ps.GreetWait > 0 {
					c.GreetPause = ps.GreetWait
				}
			}},
		}, nil
	}
}

// reputationFlags adds reputation that learns (Haraka's karma, rspamd's
// reputation), set by the smtppolicy_reputation_* parameters: -reputation
// STORE keeps per address, network and domain counts of accepted messages
// and refusals, decaying with -reputation-half-life;
// -reputation-block-after N answers an address refused N times 421 at
// connect for -reputation-block-for; and -reputation-tarpit-step delays
// each reply per refusal, up to -reputation-tarpit-max. Trusted
// (-trusted) and authenticated clients are neither scored nor learnt
// from. The server learns at the end of each session.
func reputationFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	return func(env *buildEnv) (staged, error) {
		st, err := env.Assembly.Part("reputation")
		if err != nil {
			return staged{}, err
		}
		r := env.Assembly.Built().Reputation
		if r == nil {
			return staged{Stages: st}, nil
		}
		st.EndOfData = append(st.EndOfData, reputation.Good())
		logger := env.Logger
		tarpit := env.Params.Value("smtppolicy_reputation_tarpit_step") != "0s"
		return staged{
			Stages: st,
			Configure: []func(*gosmtp.Config){func(c *gosmtp.Config) {
				onClose := c.OnClose
				c.OnClose = func(s *smtpcheck.Session) {
					if onClose != nil {
						onClose(s)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					if err := r.Done(ctx, s); err != nil {
						logger.Warn("reputation not updated", "session", s.Conn.ID, "error", err)
					}
				}
				if tarpit {
					pause := c.CommandPauseFor
					c.CommandPauseFor = func(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
						if pause != nil {
							if d, ok := pause(ctx, s); ok {
								return d, ok // the access map's CommandPause: rules
							}
						}
						return r.TarpitFor(ctx, s)
					}
				}
			}},
		}, nil
	}
}
