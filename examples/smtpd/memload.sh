#!/usr/bin/env bash
# Measures the example server's peak memory while it receives concurrent
# large messages: builds smtpd, sends N messages of SIZE MiB at once with
# python3's smtplib (one connection each) and prints the server's peak
# resident set (VmHWM) and how many messages were accepted. Linux only.
# Usage: examples/smtpd/memload.sh [messages] [MiB] [smtpd flags...]
set -euo pipefail
n=${1:-10} mib=${2:-24}
shift $(( $# > 2 ? 2 : $# )) || true
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/smtpd" ./examples/smtpd
"$work/smtpd" -listen 127.0.0.1:0 -maildir "$work/mail" "$@" 2>"$work/log" &
pid=$!
for _ in $(seq 50); do
  addr=$(sed -n 's/.*msg="serving SMTP" listen=\([0-9.:]*\).*/\1/p' "$work/log")
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/log"; exit 1; }
python3 - "$addr" "$n" "$mib" <<'PY'
import smtplib, sys, threading
host, port = sys.argv[1].rsplit(":", 1)
n, mib = int(sys.argv[2]), int(sys.argv[3])
head = (b"From: alice@example.net\r\nTo: bob@example.org\r\nSubject: big\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <big-%d@example.net>\r\n\r\n")
line = b"x" * 76 + b"\r\n"
body = line * (mib * (1 << 20) // len(line))
ok = []
def send(i):
    try:
        with smtplib.SMTP(host, int(port), local_hostname="client.example.net", timeout=300) as c:
            c.sendmail("alice@example.net", ["bob@example.org"], head % i + body)
            ok.append(i)
    except Exception as e:
        print("message", i, "failed:", e, file=sys.stderr)
ts = [threading.Thread(target=send, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print("accepted %d of %d messages of %d MiB" % (len(ok), n, mib))
PY
grep VmHWM "/proc/$pid/status" | awk '{printf "peak RSS %.0f MB\n", $2/1024}'
