package assembly

import (
	"context"
	"fmt"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/internal/storespec"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// AnvilStore returns the store that counts Postfix's client limits
// (smtpd_client_*_limit) for an SMTP server: smtppolicy_anvil_store,
// opened by the first build that asks and kept across reloads, so that
// connections open during a reload stay counted. memory: (the default)
// counts in this process, with the access map's limits; a Redis shared by
// several hosts counts each client once for all of them.
func (bd *Builder) AnvilStore() (store.Store, error) {
	spec := bd.c.Value("smtppolicy_anvil_store")
	st := bd.st
	if spec == "" || spec == "memory:" {
		return st.limitStore(), nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.anvil != nil {
		if spec != st.anvilSpec {
			bd.env.Logger.Warn("the client limits' store is kept until restart", "in_use", daemon.RedactURL(st.anvilSpec), "configured", daemon.RedactURL(spec))
		}
		return st.anvil, nil
	}
	ctx, cancel := context.WithTimeout(bd.env.Ctx, 5*time.Second)
	defer cancel()
	s, err := storespec.Open(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", bd.c.where("smtppolicy_anvil_store"), daemon.RedactURL(spec), daemon.RedactError(err, spec))
	}
	st.anvil, st.anvilSpec = s, spec
	return s, nil
}
