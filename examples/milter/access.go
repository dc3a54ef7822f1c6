package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// accessFlags wires the smtpf access map (-access FILE, repeatable), its
// limits (counted in memory), and Postfix access tables
// (-postfix-access KIND:FILE, Postfix's table notation such as
// hash:/etc/postfix/access, optionally led by client:, helo:, sender: or
// recipient: to serve one lookup only).
func accessFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	var files, tables listFlag
	fs.Var(&files, "access", "smtpf access map file (repeatable; later files override earlier keys)")
	fs.Var(&tables, "postfix-access", "Postfix access table KIND:FILE, KIND hash, cidr, regexp or pcre (repeatable); prefix client:, helo:, sender: or recipient: to use it for one lookup only")
	reload := fs.Duration("access-reload", 5*time.Second, "how often to check the access map files for changes (0: never)")
	return func(env *buildEnv) (staged, error) {
		var st staged
		if len(files) > 0 {
			a, err := access.New(access.Config{
				Files:  files,
				Store:  store.NewMemory(store.MemoryOptions{MaxEntries: 1 << 20}),
				Logger: env.Logger,
			})
			if err != nil {
				return st, fmt.Errorf("-access: %w", err)
			}
			if *reload > 0 {
				go a.Watch(context.Background(), *reload) // for the life of the program
			}
			env.Access = a
			check := smtpcheck.Named(access.CheckName, a.Check())
			limits := smtpcheck.Guard(a.Limits(), smtpcheck.Options{Name: access.LimitsName, OnError: smtpcheck.FailOpen})
			st.Connect = append(st.Connect, limits, check)
			st.Helo = append(st.Helo, check)
			st.Mail = append(st.Mail, check, limits)
			st.Rcpt = append(st.Rcpt, check, limits)
			st.Data = append(st.Data, check)
			st.Headers = append(st.Headers, check)
			st.EndOfData = append(st.EndOfData, check, limits)
			env.Logger.Info("access map on", "files", []string(files), "keys", a.Map().Len())
		}
		for _, spec := range tables {
			kinds, table := lookupKinds(spec)
			t, err := postfix.Load(table)
			if err != nil {
				return st, fmt.Errorf("-postfix-access %q: %w", spec, err)
			}
			o := postfix.DefaultOptions
			for _, kind := range kinds {
				switch kind {
				case "client":
					st.Connect = append(st.Connect, smtpcheck.Named("check_client_access", postfix.CheckClientAccess(t, o)))
				case "helo":
					st.Helo = append(st.Helo, smtpcheck.Named("check_helo_access", postfix.CheckHeloAccess(t, o)))
				case "sender":
					st.Mail = append(st.Mail, smtpcheck.Named("check_sender_access", postfix.CheckSenderAccess(t, o)))
				case "recipient":
					st.Rcpt = append(st.Rcpt, smtpcheck.Named("check_recipient_access", postfix.CheckRecipientAccess(t, o)))
				}
			}
			env.Logger.Info("postfix access table on", "table", table, "lookups", kinds)
		}
		return st, nil
	}
}

// lookupKinds splits a -postfix-access value. The plain form is Postfix's
// TYPE:FILE (hash:/etc/postfix/access), and the table then serves every
// lookup, as one access(5) table keyed by addresses, domains and networks
// can; a leading client:, helo:, sender: or recipient: limits it to one.
func lookupKinds(spec string) (kinds []string, table string) {
	for _, k := range []string{"client", "helo", "sender", "recipient"} {
		if strings.HasPrefix(spec, k+":") {
			return []string{k}, spec[len(k)+1:]
		}
	}
	return []string{"client", "helo", "sender", "recipient"}, spec
}
