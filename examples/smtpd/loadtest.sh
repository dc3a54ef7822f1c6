#!/usr/bin/env bash
# Measures what the example server costs per message under Postfix's
# smtp-source, beside two peers in the same run:
#   default    smtpd with its default policy
#   no-policy  smtpd -no-policy (the adapter, no checks)
#   sink       examples/smtpd/sink, a bare go-smtp server that stores the
#              same files (same package, same fsync before the 250)
# in two modes: one connection per message, and reused connections
# (smtp-source -d). Runs alternate between the servers, round after round,
# the order turning each round; every run reports messages/s and the
# server's CPU per message (utime+stime from /proc/PID/stat before and after
# the run, over CLK_TCK). The summary gives each server's medians and the
# two ratios of CPU per message, default/no-policy (the policy's price) and
# default/sink (everything smtpd adds to go-smtp), as the median of each
# round's ratio: the three runs of a round are back to back, so a machine
# shared with others drifts less within a round than across the run.
#
# Needs smtp-source (Debian package postfix). On a shared machine, run it
# under flock: flock /tmp/bench.lock examples/smtpd/loadtest.sh
# Usage: examples/smtpd/loadtest.sh [messages per run] [sessions] [rounds]
set -euo pipefail
msgs=${1:-2000} sessions=${2:-16} rounds=${3:-11}
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$bin"' EXIT
go build -o "$bin/smtpd" ./examples/smtpd
go build -o "$bin/sink" ./examples/smtpd/sink
source=$(command -v smtp-source || echo /usr/sbin/smtp-source)
tck=$(getconf CLK_TCK)

names=(default no-policy sink)
ports=(2601 2602 2603)
"$bin/smtpd" -listen 127.0.0.1:2601 -maildir "$bin/mail-default" 2>/dev/null &
pids[0]=$!
"$bin/smtpd" -listen 127.0.0.1:2602 -maildir "$bin/mail-no-policy" -no-policy 2>/dev/null &
pids[1]=$!
"$bin/sink" -listen 127.0.0.1:2603 -maildir "$bin/mail-sink" 2>/dev/null &
pids[2]=$!
for port in "${ports[@]}"; do
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done

# cpu prints a process's user+system CPU so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run sends one run's messages to server $1 in mode $2 ("" or -d) in round
# $3 and appends "mode round server msg/s µs-per-message" to $bin/results.
run() {
  local i=$1 mode=$2 round=$3 start end c0 c1 rate us
  c0=$(cpu "${pids[$i]}")
  start=$(date +%s.%N)
  "$source" $mode -s "$sessions" -m "$msgs" -l 2048 -f alice@example.net -t bob@example.org -M mx.example.net "127.0.0.1:${ports[$i]}"
  end=$(date +%s.%N)
  c1=$(cpu "${pids[$i]}")
  rate=$(echo "$msgs / ($end - $start)" | bc -l)
  us=$(echo "($c1 - $c0) * 1000000 / $tck / $msgs" | bc -l)
  printf '%s %s %s %.0f %.1f\n' "${mode:-conn}" "$round" "${names[$i]}" "$rate" "$us" >>"$bin/results"
  printf '  %-9s %6.0f msg/s %7.1f µs CPU/msg\n' "${names[$i]}" "$rate" "$us"
}

for mode in "" -d; do
  label="one connection per message"
  [ -n "$mode" ] && label="reused connections (smtp-source -d)"
  echo "== $label: $rounds rounds of $msgs messages, $sessions sessions"
  for r in $(seq 0 $((rounds - 1))); do
    echo "round $((r + 1))"
    for k in 0 1 2; do
      run $(((r + k) % 3)) "$mode" "$r"
    done
  done
done

echo "== medians (CPU per message is server utime+stime, CLK_TCK $tck; ratios: median of each round's)"
awk '
  { rate[$1, $2, $3] = $4; us[$1, $2, $3] = $5; rounds[$2] = 1 }
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    split("conn -d", modes, " ")
    label["conn"] = "one connection per message"; label["-d"] = "reused connections"
    split("default no-policy sink", ns, " ")
    for (i = 1; i <= 2; i++) {
      m = modes[i]
      printf "%s:\n", label[m]
      for (j = 1; j <= 3; j++) {
        n = 0; delete rs; delete cs
        for (r in rounds) { n++; rs[n] = rate[m, r, ns[j]]; cs[n] = us[m, r, ns[j]] }
        printf "  %-9s %6.0f msg/s %7.1f µs CPU/msg\n", ns[j], median(rs, n), median(cs, n)
      }
      n = 0; delete p; delete q
      for (r in rounds) { n++; p[n] = us[m, r, "default"] / us[m, r, "no-policy"]; q[n] = us[m, r, "default"] / us[m, r, "sink"] }
      printf "  CPU ratio default/no-policy %.3f, default/sink %.3f\n", median(p, n), median(q, n)
    }
  }' "$bin/results"
