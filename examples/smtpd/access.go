package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// accessFlags wires the smtpf access map (-access FILE, repeatable), its
// limits (counted in memory), and Postfix access tables
// (-postfix-access KIND:TYPE:FILE, such as client:hash:/etc/postfix/access;
// KIND is client, helo, sender or recipient).
func accessFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	var files, tables listFlag
	fs.Var(&files, "access", "smtpf access map file (repeatable; later files override earlier keys)")
	fs.Var(&tables, "postfix-access", "Postfix access table KIND:TYPE:FILE with KIND client, helo, sender or recipient and TYPE hash, cidr, regexp or pcre (repeatable)")
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
			kind, table, ok := cutKind(spec)
			if !ok {
				return st, fmt.Errorf("-postfix-access %q: want KIND:TYPE:FILE", spec)
			}
			t, err := postfix.Load(table)
			if err != nil {
				return st, fmt.Errorf("-postfix-access %q: %w", spec, err)
			}
			o := postfix.DefaultOptions
			switch kind {
			case "client":
				st.Connect = append(st.Connect, smtpcheck.Named("check_client_access", postfix.CheckClientAccess(t, o)))
			case "helo":
				st.Helo = append(st.Helo, smtpcheck.Named("check_helo_access", postfix.CheckHeloAccess(t, o)))
			case "sender":
				st.Mail = append(st.Mail, smtpcheck.Named("check_sender_access", postfix.CheckSenderAccess(t, o)))
			case "recipient":
				st.Rcpt = append(st.Rcpt, smtpcheck.Named("check_recipient_access", postfix.CheckRecipientAccess(t, o)))
			default:
				return st, fmt.Errorf("-postfix-access %q: unknown kind %q (want client, helo, sender or recipient)", spec, kind)
			}
		}
		return st, nil
	}
}

func cutKind(spec string) (kind, table string, ok bool) {
	for i := 0; i < len(spec); i++ {
		if spec[i] == ':' {
			return spec[:i], spec[i+1:], i > 0 && i+1 < len(spec)
		}
	}
	return "", "", false
}
