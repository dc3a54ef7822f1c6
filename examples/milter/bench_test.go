package main

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// BenchmarkPostfixSMTPSource measures what the filter costs Postfix: the
// messages per second smtp-source gets accepted by a private Postfix
// (delivering to a discard transport), alone and with the filter and its
// default policy in smtpd_milters. b.N messages go over 8 concurrent
// sessions of 10 messages each.
//
//	go test ./examples/milter -run '^$' -bench PostfixSMTPSource -benchtime 2000x
func BenchmarkPostfixSMTPSource(b *testing.B) {
	source := peertest.Look(b, "smtp-source", "postfix")
	for _, tc := range []struct {
		name   string
		milter []string // the filter's flags; nil: no filter
	}{{"alone", nil}, {"milter-empty-policy", []string{"-no-policy"}}, {"milter", []string{}}} {
		b.Run(tc.name, func(b *testing.B) {
			var f *front
			addr := ""
			if tc.milter != nil {
				f = startMilter(b, tc.milter...)
				addr = f.addr
			}
			in := startPostfix(b, addr)
			b.ResetTimer()
			start := time.Now()
			out, err := exec.Command(source, "-s", "8", "-m", strconv.Itoa(b.N), "-C", "10",
				"-M", "client.example", "-f", "a@client.example", "-t", "b@discard.example", in.addr).CombinedOutput()
			took := time.Since(start)
			b.StopTimer()
			if err != nil || strings.Contains(string(out), "error") || strings.Contains(string(out), "fatal") {
				b.Fatalf("smtp-source: %v %s", err, out)
			}
			b.ReportMetric(float64(b.N)/took.Seconds(), "msgs/s")
			// Every message passed the policy: the figure is the cost of
			// checking, not of refusing.
			if f != nil {
				if log := f.logText(b); strings.Contains(log, "msg=decision") {
					b.Fatalf("the policy decided on smtp-source's messages:\n%.2000s", log)
				}
			}
		})
	}
}
