#!/bin/sh
# compare.sh runs policyd (bolt store) and postgrey (its Berkeley DB) side
# by side on the same request stream at concurrency 16, in interleaved
# rounds, each server started fresh on an ephemeral port with a new store
# in a temporary directory, and prints each round and the medians of the
# server CPU per request (user + system from /proc/PID/stat) and req/s:
#
#	examples/policyd/loadgen/compare.sh [ROUNDS [REQUESTS [TRIPLETS]]]
#
# Run from the module root. Extra policyd flags go in POLICYD_FLAGS. To
# measure Redis instead of bolt, set REDIS_URL to a database of its own
# (REDIS_URL=redis://127.0.0.1:6379/9): the script deletes its grey:*
# keys after each round, so every round starts from an empty store (the
# CPU figure is policyd's alone, not redis-server's). Needs
# /usr/sbin/postgrey (set POSTGREY to override) and root or a postgrey
# user for it to run as (POSTGREY_USER).
#
# TRANSPORTS picks how the servers are reached: tcp (the default, loopback
# 127.0.0.1:PORT), unix (a Unix stream socket in the temporary directory,
# policyd -listen unix:PATH, postgrey --unix=PATH, as Postfix's
# check_policy_service unix:private/policy reaches them), or "tcp unix":
# every round then runs both servers over TCP and then both over the
# socket, and the medians are printed for each transport (the unix lines
# and medians are labelled so). When run as root with another
# POSTGREY_USER, the temporary directory is opened for traversal and
# postgrey's database and socket directories are given to that user.
#
# Figures (2026-12-04, 2 cores shared with other work, so absolute CPU
# figures drift by 1.5x between runs; the ratio holds better), 20000
# requests over 5000 triplets (5000 first sights, then early retries):
#
#	before the cost work  policyd bolt 106.5 us/req, postgrey 339 us: 3.2x; 6723 vs 1124 req/s (3 rounds)
#	after                 policyd bolt  73.5 us/req, postgrey 416 us: 5.7x; 8960 vs  775 req/s (5 rounds)
#	after, Redis          policyd      106   us/req, postgrey 528 us: 5.0x; 6065 vs  483 req/s (3 rounds)
#
# 2026-12-05, the machine at a load average of 25 (other builds and tests on
# its 2 cores, so postgrey's own figure moved 2x between runs):
#
#	bolt, 20000/5000      policyd 124.5 us/req, postgrey 927.5 us: 7.4x; 3242 vs  111 req/s (3 rounds)
#	bolt, 10000/2500      policyd 137   us/req, postgrey 524   us: 3.8x; 4094 vs  817 req/s (3 rounds)
#	Redis, 10000/2500     policyd 150   us/req, postgrey 453   us: 3.0x; 5398 vs 1088 req/s (3 rounds)
#
# 2026-12-05 later, load average under 1, 10000 requests over 2500 triplets,
# the commit before the per-request allocation work against after it, each
# run just after the other:
#
#	bolt, before          policyd 57 us/req, postgrey 314 us: 5.5x (5 rounds)
#	bolt, after           policyd 44 us/req, postgrey 349 us: 7.9x (5 rounds)
#	Redis, before         policyd 74 us/req, postgrey 350 us: 4.7x (3 rounds)
#	Redis, after          policyd 52 us/req, postgrey 367 us: 7.1x (3 rounds)
#
# 2026-12-05 evening, load average under 1, 10000 requests over 2500
# triplets, 3 rounds each, the commit before the request-memory work
# (per-request deadline context, answer built in one buffer, sessions
# reused per connection) and after it, alternated old/new twice:
#
#	bolt, before          policyd 19 / 19 us/req, postgrey 155 / 159 us: 8.2x / 8.4x
#	bolt, after           policyd 17 / 17 us/req, postgrey 161 / 155 us: 9.5x / 9.1x
#	Redis, before         policyd 25 / 26 us/req, postgrey 156 / 164 us: 6.2x / 6.3x
#	Redis, after          policyd 22 / 23 us/req, postgrey 161 / 175 us: 7.3x / 7.6x
#
# 2026-12-06, a VM whose syscalls and context switches now cost about 3x
# what they did (policyd's CPU per request is mostly kernel), load average
# 2-5; policyd alone on the same stream (10000 requests over 2500 triplets,
# c=16), the commit before the cost-per-decision work against after it,
# alternated, medians:
#
#	Redis, before / after  policyd 78 / 54.5 us/req; 13100 / 17800 req/s (4 rounds)
#	bolt, before / after   policyd 56 / 56 us/req (5 rounds: the read
#	                       transactions saved are lost in the kernel's share)
#	compare.sh bolt        postgrey 241-279 us/req, so 4.1-4.7x either way
#
# In process (no kernel), BenchmarkServeGreylistBolt16 5048 -> 4446 ns/op
# and BenchmarkServeGreylistMemory 17 -> 9 allocs/op (5771 -> 5693 ns/op).
#
# (the CPU figures come from /proc in 10 ms ticks: 1 us per request at
# 10000 requests). On Redis one request is one round trip: redis-server's
# commandstats count 10000 EVALSHA for 10000 requests (the GETs and SETs
# run inside the script), plus HELLO and SELECT once per pooled
# connection. A CPU profile of policyd on Redis: socket writes 31% (the
# answer 18%, the Redis command 13%), the clock 7%, go-redis's pool 7%.
#
# strace -c of policyd over 10000 requests: 20001 write calls (the answer
# and its verdict line), 11024 read, 3737 epoll_pwait; futex and nanosleep
# (the Go scheduler) take most of the system time.
#
# 2026-12-06 03:32-03:36, the same VM (syscalls and context switches
# still about 3x their old cost), load average 1.4-2.3: compare.sh 3
# 10000 2500 from the commit before the verdict lines were gathered into
# one write per millisecond and policyd ran on one thread (d728fdb) and
# from after, alternated before/after twice, bolt then Redis each time;
# each figure the median of 3 rounds (first pass / second pass):
#
#	bolt, before   policyd  95 / 63 us/req, postgrey 500 / 276 us: 5.3x / 4.4x; req/s 5.9x / 7.7x
#	bolt, after    policyd  48 / 53 us/req, postgrey 244 / 359 us: 5.1x / 6.8x; req/s 5.6x / 7.2x
#	Redis, before  policyd 106 / 80 us/req, postgrey 455 / 287 us: 4.3x / 3.6x; req/s 4.8x / 6.0x
#	Redis, after   policyd  51 / 55 us/req, postgrey 293 / 347 us: 5.7x / 6.3x; req/s 5.6x / 5.6x
#
# and 5 rounds each at load average 5-8, before (02:46, bolt): policyd 69
# us/req (61-73), postgrey 334 (253-543), 4.8x, 12138 vs 1276 req/s; after
# (03:26-03:30): bolt 49 (46-51) vs 250 (242-268), 5.1x, 16160 vs 2777
# req/s (5.8x); Redis 53 vs 275, 5.2x, 13958 vs 2278 req/s (6.1x). At
# 03:44, load average 0.4-1.2, 5 rounds after: bolt 48 vs 280 us, 5.8x,
# 16496 vs 2653 req/s (6.2x); Redis 59 vs 262 us, 4.4x, 12366 vs 2772
# req/s (4.5x).
# postgrey's own figure moves by 2x from run to run on this machine, ours
# by 1.5x; the goal of 10x is not reached here: half of policyd's CPU is
# the kernel's, for the request's read and the answer's write on
# loopback TCP, which postgrey pays too but is a smaller part of its cost.
#
# A CPU profile of policyd (bolt) after: the answer's socket write 33%,
# the request's read 12% (the kernel 48% of all samples), Policy.Evaluate
# 20% (greylisting 11%, the bolt store 6% of it), the runtime's sysmon 7.6%
# (it ticks every 20 us for a millisecond after each idle spell), the
# clock 4.5%, allocation 4.5%, GC 2%; the verdict line's own write (8%)
# is gone. strace -c over 10000 requests: 11251 write calls (the answers
# and a write per millisecond of verdict lines), 12056 read (1979 of them
# EAGAIN), 470 fdatasync (two per commit: 235 commits for 2500 first
# sights).
#
# The runtime's sysmon costs more than its 7.6% of the samples (0.6% in a
# profile with the setting below, all else alike): when every P is idle
# it sleeps until woken, and the next system call wakes it and sets it
# ticking every 20 us for at least a millisecond, so a server that idles
# between bursts of requests keeps it near its fastest tick (up to 50000
# wake-ups a second). Only GODEBUG=schedtrace keeps it from that sleep,
# after which it backs off to 10 ms between ticks; with a period of weeks
# (it prints a scheduler line to stderr once a period, and at start on a
# machine up longer than that), policyd alone on the same stream (10000
# requests over 2500 triplets, c=16, 5 rounds, load average 2, 03:39),
# without / with GODEBUG=schedtrace=2000000000:
#
#	bolt   51 / 37 us/req (47-55 / 36-40), 16071 / 19460 req/s
#	Redis  56 / 47 us/req (50-58 / 39-54), 13603 / 14160 req/s
#
# TCP against Unix sockets, 2026-12-06, the same VM at a load average of
# 2.4-8.5 (other work on its 2 cores), TRANSPORTS="tcp unix" compare.sh 5
# 10000 2500, bolt then Redis; each round runs both servers over loopback
# TCP, then both over a Unix socket; medians of 5 rounds, server CPU per
# request ours / postgrey's (ratio), req/s ratio. First 03:55-04:01 (load
# 2.4-8.5), then 04:07-04:11 (load 3.3-5.3) after policyd read the clock
# once per request and stopped moving its socket deadlines every request:
#
#	bolt, TCP     policyd 67 / 71 us, postgrey 647 / 455 us: 9.7x / 6.4x; req/s 13.7x / 9.4x
#	bolt, unix    policyd 70 / 64 us, postgrey 499 / 510 us: 7.1x / 8.0x; req/s 10.1x / 10.3x
#	Redis, TCP    policyd 71 / 70 us, postgrey 449 / 370 us: 6.3x / 5.3x; req/s 11.8x / 5.1x
#	Redis, unix   policyd 71 / 65 us, postgrey 329 / 372 us: 4.6x / 5.7x; req/s  6.1x / 6.0x
#
# (second pass, each round: bolt TCP policyd 54-77, postgrey 436-514;
# bolt unix 52-70, 340-558; Redis TCP 56-87, 330-394; Redis unix 51-80,
# 334-401; policyd's connection to Redis is TCP in every case.) A Unix
# socket does not make the ratio reliably better: over it policyd's CPU
# per request is 10% below to 4% above its TCP figure (46-47 against
# 49-51 us alone on bolt, below), postgrey's 23-27% below in the first
# pass and no lower in the second, and the ratio moves with postgrey's own
# figure (1.5-2x from round to round here) more than with the transport.
# Neither transport reaches 10x on this machine.
#
# A third pass, 04:14-04:16, the machine nearly quiet (load average
# 0.8-2.1), after the clock and deadline work; medians of 5 rounds (range):
#
#	bolt, TCP     policyd 51 (43-55) us, postgrey 239 (233-259) us: 4.7x; 15862 vs 3041 req/s (5.2x)
#	bolt, unix    policyd 47 (44-52) us, postgrey 252 (233-267) us: 5.4x; 16996 vs 2908 req/s (5.8x)
#	Redis, TCP    policyd 55 (52-64) us, postgrey 261 (249-431) us: 4.7x; 12813 vs 2866 req/s (4.5x)
#	Redis, unix   policyd 59 (53-78) us, postgrey 277 (245-394) us: 4.7x; 13386 vs 2759 req/s (4.9x)
#
# On a quiet machine the ratios are lower than under load (postgrey's
# figure grows more with the load than ours), and the Unix socket moves
# them by at most 0.7x: the 10x goal is about half reached either way.
#
# policyd alone (loadgen, 10000 requests over 2500 triplets, c=16), the
# commit before the clock and deadline work against after it, alternated,
# 5 rounds each, medians (range), 04:03-04:05, load average 3.5-4.6:
#
#	bolt, TCP     49 (48-51) / 51 (42-56) us/req
#	bolt, unix    47 (44-52) / 46 (44-50) us/req
#	Redis, TCP    54 (50-68) / 58 (51-64) us/req
#	Redis, unix   59 (54-68) / 57 (54-64) us/req
#
# within the noise; a perf profile of policyd on bolt over 30000 requests
# puts the clock and deadline symbols (vdso clock_gettime, nanotime,
# time.Now, pollSetDeadline, timer modify and heap work) at 2.0% of the
# samples before and 1.1% after, pollSetDeadline itself gone.
set -eu

rounds=${1:-5}
n=${2:-20000}
triplets=${3:-5000}
conc=16
postgrey=${POSTGREY:-/usr/sbin/postgrey}
pguser=${POSTGREY_USER:-$(id -un)}
pggroup=$(id -gn "$pguser")
transports=${TRANSPORTS:-tcp}
for t in $transports; do
	case $t in
	tcp | unix) ;;
	*)
		echo "compare.sh: TRANSPORTS: $t is neither tcp nor unix" >&2
		exit 2
		;;
	esac
done

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# giveuser DIR: make DIR postgrey's when it runs as a user of its own.
giveuser() {
	if [ "$(id -u)" = 0 ] && [ "$pguser" != "$(id -un)" ]; then
		chmod 0711 "$tmp"
		chown "$pguser:$pggroup" "$1"
	fi
}

go build -o "$tmp/policyd" ./examples/policyd
go build -o "$tmp/loadgen" ./examples/policyd/loadgen

freeport() {
	perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport'
}

# waitfor WHAT CONNECT: wait until the Perl expression CONNECT, a socket
# to WHAT, connects.
waitfor() {
	i=0
	until perl -MIO::Socket::INET -MIO::Socket::UNIX -e "exit !($2)"; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "compare.sh: nothing listening on $1" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# measure NAME ADDR: run the stream against the server $pid on ADDR (a TCP
# port, or unix:PATH).
measure() {
	case $2 in
	unix:*)
		waitfor "${2#unix:}" "IO::Socket::UNIX->new(Peer => '${2#unix:}')"
		addr=$2
		;;
	*)
		waitfor "port $2" "IO::Socket::INET->new('127.0.0.1:$2')"
		addr=127.0.0.1:$2
		;;
	esac
	line=$("$tmp/loadgen" -addr "$addr" -c $conc -n "$n" -triplets "$triplets" -pid "$pid")
	echo "$1 $line"
	cpu=${line##*cpu_us/req=}
	rate=${line#*req/s=}
	rate=${rate%% *}
	echo "$cpu $rate" >>"$tmp/res.$1"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

r=1
while [ $r -le "$rounds" ]; do
	for t in $transports; do
		# The TCP figures keep the names and directories they always had.
		sfx= db=$tmp/db$r
		[ "$t" = unix ] && sfx=-unix db=$tmp/db$r/unix
		mkdir -p "$db/ours" "$db/pg"
		giveuser "$db/pg"
		if [ "$t" = unix ]; then
			mkdir -p "$tmp/sock$r"
			giveuser "$tmp/sock$r"
			ours=unix:$tmp/sock$r/policyd.sock
			listen=$ours
		else
			ours=$(freeport)
			listen=127.0.0.1:$ours
		fi
		store="bolt:$db/ours/grey.db"
		[ -n "${REDIS_URL:-}" ] && store=$REDIS_URL
		# shellcheck disable=SC2086
		"$tmp/policyd" -listen "$listen" -greylist "$store" ${POLICYD_FLAGS:-} 2>"$tmp/policyd.log" &
		pid=$!
		measure "policyd$sfx" "$ours"
		if [ -n "${REDIS_URL:-}" ]; then
			redis-cli -u "$REDIS_URL" --scan --pattern 'grey:*' | tr '\n' '\0' | xargs -0 -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null
		fi

		if [ "$t" = unix ]; then
			theirs=unix:$tmp/sock$r/postgrey.sock
			set -- --unix "${theirs#unix:}"
		else
			theirs=$(freeport)
			set -- --inet "127.0.0.1:$theirs"
		fi
		"$postgrey" "$@" --dbdir "$db/pg" --user "$pguser" --group "$pggroup" \
			--pidfile "$tmp/pg.pid" 2>"$tmp/postgrey.log" &
		pid=$!
		measure "postgrey$sfx" "$theirs"
	done
	r=$((r + 1))
done

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
for t in $transports; do
	sfx= how=
	[ "$t" = unix ] && sfx=-unix how=", unix sockets"
	ours=$(cut -d' ' -f1 "$tmp/res.policyd$sfx" | median)
	theirs=$(cut -d' ' -f1 "$tmp/res.postgrey$sfx" | median)
	ours_rate=$(cut -d' ' -f2 "$tmp/res.policyd$sfx" | median)
	theirs_rate=$(cut -d' ' -f2 "$tmp/res.postgrey$sfx" | median)
	echo "median of $rounds rounds, $n requests, c=$conc$how:"
	echo "  server CPU per request: policyd ${ours} us, postgrey ${theirs} us, postgrey/policyd $(awk "BEGIN {printf \"%.1f\", $theirs / $ours}")x"
	echo "  requests per second:    policyd ${ours_rate}, postgrey ${theirs_rate}, policyd/postgrey $(awk "BEGIN {printf \"%.1f\", $ours_rate / $theirs_rate}")x"
done
