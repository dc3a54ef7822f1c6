#!/usr/bin/env bash
# Measures what postscreen's pass cache saves the example server: its CPU
# per session (utime+stime of its own process, /proc/PID/stat) and sessions
# per second, cache on (postscreen_cache_map = memory:) against off, under
# smtp-source's dialogue with 90% of sessions from clients that already
# passed and 10% from addresses never seen. The policy is a main.cf with
# the pregreet test (postscreen_greet_wait = 1s), three DNS lists on the
# in-process DNS server and the deep tests (psload_test.go). Each session
# binds its own 127.0.0.0/8 address, which smtp-source cannot: Linux only.
# Rounds alternate on, off; the medians are printed.
# Usage: examples/smtpd/psload.sh [rounds] [sessions] [concurrency] [returning clients]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
# The test binary is smtpd too (TestMain): the servers run as processes of
# their own, so the load generator's CPU is not counted as theirs.
go test -c -o "$bin/smtpd.test" ./examples/smtpd
PSLOAD_ROUNDS=${1:-5} PSLOAD_SESSIONS=${2:-2000} PSLOAD_CONCURRENCY=${3:-100} PSLOAD_WARM=${4:-50} \
  "$bin/smtpd.test" -test.run '^TestPostscreenCacheCPU$' -test.v -test.count=1 -test.timeout 2h |
  grep -v '^=== RUN'
