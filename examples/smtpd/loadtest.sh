#!/usr/bin/env bash
# Measures the policy's cost under Postfix's smtp-source: the example server
# with its default policy against the same server with -no-policy, messages
# per second for each, alternating runs. Needs smtp-source (Debian package
# postfix). Usage: examples/smtpd/loadtest.sh [messages] [sessions] [runs]
set -euo pipefail
msgs=${1:-5000} sessions=${2:-16} runs=${3:-5}
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$bin"' EXIT
go build -o "$bin/smtpd" ./examples/smtpd
"$bin/smtpd" -listen 127.0.0.1:2601 -maildir "$bin/mail-policy" 2>/dev/null &
"$bin/smtpd" -listen 127.0.0.1:2602 -maildir "$bin/mail-empty" -no-policy 2>/dev/null &
sleep 1
source=$(command -v smtp-source || echo /usr/sbin/smtp-source)
rate() {
  local start end
  start=$(date +%s.%N)
  "$source" -s "$sessions" -m "$msgs" -l 2048 -f alice@example.net -t bob@example.org -M mx.example.net "127.0.0.1:$1"
  end=$(date +%s.%N)
  echo "$msgs / ($end - $start)" | bc -l
}
for i in $(seq "$runs"); do
  p=$(rate 2601); e=$(rate 2602)
  printf 'run %d: default policy %.0f msg/s, empty policy %.0f msg/s, ratio %.3f\n' "$i" "$p" "$e" "$(echo "$p / $e" | bc -l)"
done
