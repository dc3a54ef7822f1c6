package main

import (
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/smtppolicy/smtppolicy/scan/clamd"
	"github.com/smtppolicy/smtppolicy/scan/spamd"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// scanFlags adds the content scanners, smtpf's clamd-* and spamd-* options:
// -clamd-socket and -spamd-socket (a unix socket path or host[:port]) turn
// on virus scanning and spam scoring of every message at end of data, for
// clients that are neither trusted nor authenticated. A virus is refused
// with the name clamd gave; a score at -spamd-score-reject is refused with
// the score; a message spamd passes gets SpamAssassin's X-Spam-* headers. A
// scanner that is down or slow defers the message (-clamd-error-policy
// temp-fail, smtpf's behaviour) or lets it through (-spamd-error-policy
// fail-open, smtpf's), with the catalog's reply naming what failed.
func scanFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	clamdSocket := fs.String("clamd-socket", "", "clamd's unix socket path or HOST[:PORT] (port 3310); empty: no virus scanning")
	clamdTimeout := fs.Duration("clamd-timeout", clamd.DefaultTimeout, "bound on one clamd scan")
	clamdPolicy := fs.String("clamd-policy", "reject", "what a virus does: reject, discard, quarantine or none (accept with an X-Virus-Found header)")
	clamdMax := fs.Int64("clamd-max-size", clamd.DefaultMaxSize>>10, "kilobytes of a message sent to clamd (0: all of it)")
	clamdErr := fs.String("clamd-error-policy", "temp-fail", "what a failed scan does: fail-open, temp-fail or fail-closed")

	spamdSocket := fs.String("spamd-socket", "", "spamd's unix socket path or HOST[:PORT] (port 783); empty: no spam scoring")
	spamdTimeout := fs.Duration("spamd-timeout", spamd.DefaultTimeout, "bound on one spamd scan")
	spamdUser := fs.String("spamd-user", "", "user whose SpamAssassin preferences score the messages (spamd's User:)")
	spamdReject := fs.Float64("spamd-score-reject", spamd.DefaultReject, "score at which a message is refused (-1: never)")
	spamdTag := fs.Float64("spamd-score-tag", 0, "score at which a message is marked X-Spam-Flag: YES (0: spamd's required_score)")
	spamdMarked := fs.Bool("spamd-reject-sender-marked-spam", true, "refuse a message whose sender's X-Spam-Status score reaches -spamd-score-reject")
	spamdFlag := fs.Bool("spamd-sender-marked-spam", false, "refuse a message that arrives with X-Spam-Flag: YES")
	spamdMax := fs.Int64("spamd-max-size", spamd.DefaultMaxSize>>10, "largest message scored, in kilobytes; larger ones pass unscored (0: no limit)")
	spamdErr := fs.String("spamd-error-policy", "fail-open", "what a failed scan does: fail-open, temp-fail or fail-closed")

	return func(env *buildEnv) (staged, error) {
		var st staged
		skip := []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}
		guard := func(name string, c smtpcheck.Check, timeout time.Duration) smtpcheck.Check {
			// The scanners keep their own deadline and answer an overrun
			// with the catalog's reply; the guard's is a backstop.
			return smtpcheck.Guard(c, smtpcheck.Options{Name: name, Timeout: timeout + time.Second, OnError: smtpcheck.FailTemp, Skip: skip})
		}
		if *clamdSocket != "" {
			onFound, err := clamd.ParseAction(*clamdPolicy)
			if err != nil {
				return staged{}, fmt.Errorf("-clamd-policy: %w", err)
			}
			onErr, err := smtpcheck.ParseErrorPolicy(*clamdErr)
			if err != nil {
				return staged{}, fmt.Errorf("-clamd-error-policy: %w", err)
			}
			max := *clamdMax << 10
			if max <= 0 {
				max = -1
			}
			sc, err := clamd.New(clamd.Config{Address: *clamdSocket, Timeout: *clamdTimeout, MaxSize: max, OnFound: onFound, OnError: onErr, Logger: env.Logger})
			if err != nil {
				return staged{}, fmt.Errorf("-clamd-socket: %w", err)
			}
			st.EndOfData = append(st.EndOfData, guard(clamd.Name, sc.Check(), *clamdTimeout))
			env.Logger.Info("virus scanning on", "clamd", *clamdSocket, "policy", onFound, "on-error", onErr)
		}
		if *spamdSocket != "" {
			onErr, err := smtpcheck.ParseErrorPolicy(*spamdErr)
			if err != nil {
				return staged{}, fmt.Errorf("-spamd-error-policy: %w", err)
			}
			th := smtpcheck.Thresholds{Reject: *spamdReject, Tag: *spamdTag}
			if th.Reject < 0 {
				th.Reject = math.Inf(1)
			}
			max := *spamdMax << 10
			if max <= 0 {
				max = -1
			}
			sc, err := spamd.New(spamd.Config{
				Address: *spamdSocket, User: *spamdUser, Timeout: *spamdTimeout, MaxSize: max, Thresholds: th,
				RejectSenderMarkedSpam: *spamdMarked, SenderMarkedSpam: *spamdFlag, OnError: onErr, Logger: env.Logger,
			})
			if err != nil {
				return staged{}, fmt.Errorf("-spamd-socket: %w", err)
			}
			st.EndOfData = append(st.EndOfData, guard(spamd.Name, sc.Check(), *spamdTimeout))
			env.Logger.Info("spam scoring on", "spamd", *spamdSocket, "reject", th.Reject, "on-error", onErr)
		}
		return st, nil
	}
}
