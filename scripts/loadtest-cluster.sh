#!/usr/bin/env bash
# SIPp load on several `sipswitch serve` hosts sharing one store, on
# loopback only: the cluster figures of README ("Several hosts on one
# store").
#
# Host N listens on 127.0.0.N:SIP_PORT (SIP, 25060) and :HTTP_PORT (API,
# 28080); the ports differ from make loadtest's so both can run at once. BACKEND
# postgres gives them one fresh PostgreSQL schema (removed afterwards) and,
# with SHARED=1, one Redis key prefix for the call-limit slots; BACKEND
# sqlite is one host on a SQLite file, the single-host figure to compare
# with. The database (gendb: three carrier peers, ROUTES routes, 1,000
# phones) gives the carriers outmaximum OUTMAX and the phones totalmaximum
# TOTALMAX, so that every call takes two shared slots; the limits are
# never reached. One SIPp phone client per host places RATE calls/s for
# DURATION s; SIPp carriers answer on 127.0.0.2:CARRIER_PORT (25071; and
# .3 and .4 on the next ports).
#
# Printed per host: calls, achieved CPS, CPU per call (user+system of the
# sipswitch process over the run); then, on postgres, the time a write
# through host 2 takes to reach host 1's routing table (PROPAGATE samples),
# and with SHARED=1 and 3 hosts the lease expiry: host 3 is killed with -9
# holding KILL_CALLS calls and the time until its slots stop counting is
# measured in Redis. Exits 1 when a call of the load failed, 2 on a setup
# error.
#
# Variables: HOSTS [3], BACKEND [postgres], SHARED [1], RATE per host [30],
# DURATION [10], CALL_MS [1000], ROUTES [1000], OUTMAX [100000],
# TOTALMAX [1000], LEASE [6s], PROPAGATE [10], KILL_CALLS [20],
# PG [postgres://postgres@127.0.0.1:5432/test?sslmode=disable],
# REDIS [127.0.0.1:6379], WORKDIR (keep the files), LOG_LEVEL [warn],
# SIPSWITCH_CONFIG_EXTRA (YAML lines added to every host's config, e.g.
# "pprof: true" to profile a host during the run), SIPSWITCH_BIN (a
# sipswitch binary to run instead of building one from this tree, e.g.
# another commit's, for loadtest-cluster-ab.sh), PROFILE_S (with pprof:
# true, seconds of each host's CPU profile taken during the load, written
# to hostN.cpu.pprof in WORKDIR), HOST_BINS and HOST_SHARED (a binary and a
# SHARED per host, space-separated, overriding SIPSWITCH_BIN and SHARED:
# hosts of different builds or settings under the same load at the same
# time, as loadtest-cluster-ab.sh runs them; HOSTS may then be 4, and the
# propagation and lease expiry are not measured).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/loadtest-lib.sh
. scripts/loadtest-lib.sh

HOSTS=${HOSTS:-3}
BACKEND=${BACKEND:-postgres}
SHARED=${SHARED:-1}
RATE=${RATE:-30}
DURATION=${DURATION:-10}
CALL_MS=${CALL_MS:-1000}
ROUTES=${ROUTES:-1000}
OUTMAX=${OUTMAX:-100000}
TOTALMAX=${TOTALMAX:-1000}
LEASE=${LEASE:-6s}
PROPAGATE=${PROPAGATE:-10}
KILL_CALLS=${KILL_CALLS:-20}
PG=${PG:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
REDIS=${REDIS:-127.0.0.1:6379}
SIP_PORT=${SIP_PORT:-25060}
HTTP_PORT=${HTTP_PORT:-28080}
CARRIER_PORT=${CARRIER_PORT:-25071}
CALLS=$((RATE * DURATION))
require_positive loadtest-cluster HOSTS RATE DURATION CALL_MS ROUTES PROPAGATE KILL_CALLS SIP_PORT HTTP_PORT CARRIER_PORT
read -ra HOST_BIN <<<"${HOST_BINS:-}"
read -ra HOST_SH <<<"${HOST_SHARED:-}"
MIXED=0
if [[ ${#HOST_BIN[@]} -gt 0 || ${#HOST_SH[@]} -gt 0 ]]; then
	MIXED=1
	[[ ${#HOST_BIN[@]} -le $HOSTS && ${#HOST_SH[@]} -le $HOSTS ]] || { echo "loadtest-cluster: HOST_BINS and HOST_SHARED name at most HOSTS hosts" >&2; exit 2; }
fi
[[ $HOSTS -le $((3 + MIXED)) ]] || { echo "loadtest-cluster: HOSTS is 1 to 3 (4 with HOST_BINS or HOST_SHARED)" >&2; exit 2; }
# host_shared N: SHARED of host N.
host_shared() { echo "${HOST_SH[$(($1 - 1))]:-$SHARED}"; }
case $BACKEND in
sqlite) [[ $HOSTS = 1 ]] || { echo "loadtest-cluster: BACKEND=sqlite is one host" >&2; exit 2; }; SHARED=0 ;;
postgres) ;;
*) echo "loadtest-cluster: BACKEND is sqlite or postgres" >&2; exit 2 ;;
esac
for c in sipp psql redis-cli; do
	command -v "$c" >/dev/null || { echo "loadtest-cluster: $c not found" >&2; exit 2; }
done

if [[ -n ${WORKDIR:-} ]]; then
	mkdir -p "$WORKDIR"
	WORK=$(cd "$WORKDIR" && pwd)
	rm -rf "$WORK"/*.out "$WORK"/*.csv "$WORK"/*.err "$WORK"/uac* "$WORK"/load.db*
	KEEP=1
else
	WORK=$(mktemp -d /tmp/sipswitch-cluster.XXXXXX)
	KEEP=0
fi
RUN_ID=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
SCHEMA=sipswitch_load_$RUN_ID
PREFIX=sipswitch-load-$RUN_ID
PIDS=()
cleanup() {
	local rc=$?
	stop_pids
	if [[ $BACKEND = postgres ]]; then
		psql "$PG" -qAtc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
		redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" --scan --pattern "{$PREFIX}*" 2>/dev/null |
			xargs -r redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" del >/dev/null 2>&1 || true
	fi
	if [[ $KEEP = 0 ]]; then rm -rf "$WORK"; else echo "loadtest-cluster: files kept in $WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true
SC=$ROOT/testdata/sipp

echo "== building"
if [[ -n ${SIPSWITCH_BIN:-} ]]; then
	cp "$SIPSWITCH_BIN" "$WORK/sipswitch"
else
	go build -o "$WORK/sipswitch" ./cmd/sipswitch
fi
for n in $(seq "$HOSTS"); do
	bin=${HOST_BIN[$((n - 1))]:-$WORK/sipswitch}
	cp "$bin" "$WORK/sipswitch-host$n"
done
go build -o "$WORK/gendb" ./cmd/gendb
# Inside route 0's prefix ("10000"), whatever ROUTES is.
CALLED=10000123456
if [[ $BACKEND = postgres ]]; then
	psql "$PG" -qAtc "CREATE SCHEMA $SCHEMA" >/dev/null
	sep='?'
	[[ $PG == *\?* ]] && sep='&'
	DB="$PG${sep}search_path=$SCHEMA"
else
	DB=$WORK/load.db
fi
echo "== generating the store ($BACKEND, $ROUTES routes, outmaximum $OUTMAX, totalmaximum $TOTALMAX)"
"$WORK/gendb" -db "$DB" -csv "$WORK/calls.csv" -calls "$((CALLS + KILL_CALLS + 10))" -called "$CALLED" -routes "$ROUTES" \
	-outmaximum "$OUTMAX" -totalmaximum "$TOTALMAX" -carrier-port "$CARRIER_PORT"

start_uas() { # name scenario ip port
	(cd "$WORK" && exec sipp -sf "$SC/$2" -i "$3" -p "$4" -nostdin -buff_size 4194304 >"$WORK/$1.out" 2>&1) &
	PIDS+=($!)
}
start_uas carrier1 uas_answer.xml 127.0.0.2 "$CARRIER_PORT"
start_uas carrier2 uas_answer.xml 127.0.0.3 "$((CARRIER_PORT + 1))"
start_uas carrier3 uas_busy.xml 127.0.0.4 "$((CARRIER_PORT + 2))"

SWITCH=()
for n in $(seq "$HOSTS"); do
	ip=127.0.0.$n
	cat >"$WORK/host$n.yaml" <<EOF
database: "$DB"
http: $ip:$HTTP_PORT
sip: [udp://$ip:$SIP_PORT]
digest_algorithms: [MD5, SHA-256]
log: {level: ${LOG_LEVEL:-warn}, format: text}
call_records_journal: $WORK/host$n.calls
cluster:
  host: host$n
  redis: "$([[ $(host_shared "$n") = 1 ]] && echo "redis://$REDIS/0")"
  key_prefix: $PREFIX
  lease: $LEASE
${SIPSWITCH_CONFIG_EXTRA:-}
EOF
	SIPSWITCH_ADMIN_PASSWORD=loadtest-admin "$WORK/sipswitch-host$n" serve --config "$WORK/host$n.yaml" 2>"$WORK/host$n.err" &
	SWITCH+=($!)
	PIDS+=($!)
done
for n in $(seq "$HOSTS"); do
	for i in $(seq 150); do
		kill -0 "${SWITCH[$((n - 1))]}" 2>/dev/null || { echo "loadtest-cluster: host$n exited:" >&2; cat "$WORK/host$n.err" >&2; exit 2; }
		# Our host's answer (its store backend), not another program's
		# on the same port.
		curl -sf "http://127.0.0.$n:$HTTP_PORT/healthz" 2>/dev/null | grep -q "store $BACKEND ok" && break
		[[ $i = 150 ]] && { echo "loadtest-cluster: host$n not healthy after 15s:" >&2; curl -s "http://127.0.0.$n:$HTTP_PORT/healthz" >&2; exit 2; }
		sleep 0.1
	done
done

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
# CPU of the servers the hosts share: every PostgreSQL process (children's
# time included: backends come and go) and the Redis server. Whatever
# else uses them on this machine is counted too.
servers_ticks() {
	local pids total=0 p
	pids="$(pgrep -u postgres 2>/dev/null || true) $(redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" info server 2>/dev/null | awk -F: '/^process_id/ { print $2 + 0 }')"
	for p in $pids; do
		total=$((total + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }' || echo 0)))
	done
	echo "$total"
}
uac() { # host-number calls rate call-ms outfile-prefix [extra sipp args...]
	local n=$1 m=$2 r=$3 d=$4 tag=$5
	shift 5
	mkdir -p "$WORK/$tag$n"
	(cd "$WORK/$tag$n" && exec sipp "127.0.0.$n:$SIP_PORT" -sf "$SC/uac_call.xml" -inf "$WORK/calls.csv" -auth_uri "$CALLED@127.0.0.$n:$SIP_PORT" \
		-i 127.0.0.1 -p 0 -r "$r" -m "$m" -d "$d" -recv_timeout 20000 -timeout "$((m / r + d / 1000 + 60))s" -timeout_error \
		-buff_size 4194304 -nostdin -trace_stat -stf "$WORK/$tag$n/stat.csv" -fd 1 "$@" >"$WORK/$tag$n/out" 2>&1)
}

echo "== probe call on every host"
for n in $(seq "$HOSTS"); do
	uac "$n" 1 1 100 probe || { echo "loadtest-cluster: probe call through host$n failed" >&2; tail -5 "$WORK/probe$n/out" >&2; exit 2; }
done

echo "== load: $HOSTS host(s), $RATE calls/s each for $DURATION s, $CALL_MS ms calls"
declare -a CPU0
for n in $(seq "$HOSTS"); do CPU0[$n]=$(cpu_ticks "${SWITCH[$((n - 1))]}"); done
SERVERS0=$(servers_ticks)
T0=$(date +%s.%N)
UACS=()
for n in $(seq "$HOSTS"); do
	uac "$n" "$CALLS" "$RATE" "$CALL_MS" load &
	UACS+=($!)
done
PROFS=()
if [[ -n ${PROFILE_S:-} ]]; then
	for n in $(seq "$HOSTS"); do
		# Two seconds in, so the profile is of the load, not its ramp.
		(sleep 2 && curl -sf -o "$WORK/host$n.cpu.pprof" "http://127.0.0.$n:$HTTP_PORT/debug/pprof/profile?seconds=$PROFILE_S" ||
			echo "loadtest-cluster: no profile of host$n (pprof: true in SIPSWITCH_CONFIG_EXTRA?)" >&2) &
		PROFS+=($!)
	done
fi
FAILED_RUNS=0
for p in "${UACS[@]}"; do wait "$p" || FAILED_RUNS=$((FAILED_RUNS + 1)); done
for p in "${PROFS[@]}"; do wait "$p"; done
T1=$(date +%s.%N)
SERVERS=$(($(servers_ticks) - SERVERS0))
HZ=$(getconf CLK_TCK)
TOTAL_CALLS=0
TOTAL_FAILED=0
echo
if [[ $MIXED = 1 ]]; then
	echo "== results ($BACKEND, $HOSTS host(s), shared limits as each host says)"
else
	echo "== results ($BACKEND, $HOSTS host(s), shared limits $([[ $SHARED = 1 ]] && echo on || echo off))"
fi
for n in $(seq "$HOSTS"); do
	f=$WORK/load$n/stat.csv
	created=$(sipp_stat 'OutgoingCall(C)' "$f")
	ok=$(sipp_stat 'SuccessfulCall(C)' "$f")
	failed=$(sipp_stat 'FailedCall(C)' "$f")
	ticks=$(($(cpu_ticks "${SWITCH[$((n - 1))]}") - CPU0[n]))
	TOTAL_CALLS=$((TOTAL_CALLS + created))
	TOTAL_FAILED=$((TOTAL_FAILED + failed + created - ok))
	awk -v n="$n" -v c="$created" -v ok="$ok" -v f="$failed" -v t="$ticks" -v hz="$HZ" -v t0="$T0" -v t1="$T1" -v d="$DURATION" -v sh="$(host_shared "$n")" 'BEGIN {
		printf "host%d: %d calls, %d ok, %d failed, %.1f CPS, CPU %.2f s = %.0f us per call (shared limits %s)\n", n, c, ok, f, c / d, t / hz, (c > 0 ? t / hz / c * 1e6 : 0), (sh == 1 ? "on" : "off") }'
done
awk -v c="$TOTAL_CALLS" -v d="$DURATION" -v t0="$T0" -v t1="$T1" 'BEGIN { printf "cluster: %d calls, %.1f CPS over %d s (wall %.1f s)\n", c, c / d, d, t1 - t0 }'
awk -v t="$SERVERS" -v hz="$HZ" -v c="$TOTAL_CALLS" 'BEGIN { if (c > 0) printf "PostgreSQL and Redis CPU: %.2f s = %.0f us per call (all their processes, whoever used them)\n", t / hz, t / hz / c * 1e6 }'
printf 'machine: %s cores; PostgreSQL and Redis share them with SIPp and the hosts\n' "$(nproc)"

if [[ $BACKEND = postgres && $HOSTS -ge 2 && $MIXED = 0 ]]; then
	echo "== propagation: a write through host 2 until host 1's routing table has it ($PROPAGATE samples)"
	AUTH="auth_username=admin;auth_password=loadtest-admin"
	for i in $(seq "$PROPAGATE"); do
		before=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '$1 == "sipswitch_store_revision" { print $2 }')
		t0=$(date +%s%N)
		curl -sf "http://127.0.0.2:$HTTP_PORT/api/json/plans/update/?$AUTH;id=1;description=propagation-$i" >/dev/null
		for _ in $(seq 500); do
			rev=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '$1 == "sipswitch_store_revision" { print $2 }')
			[[ ${rev%.*} -gt ${before%.*} ]] && break
			sleep 0.005
		done
		echo $((($(date +%s%N) - t0) / 1000000))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "propagation ms (API answer included): min %d  median %d  max %d  (n=%d)\n", v[1], v[int((NR + 1) / 2)], v[NR], NR }'
fi

if [[ $SHARED = 1 && $HOSTS = 3 && $MIXED = 0 ]]; then
	echo "== lease expiry: host 3 killed with -9 holding $KILL_CALLS calls"
	mkdir -p "$WORK/hold3"
	# Its own subshell that execs SIPp, so $! is SIPp's pid.
	(cd "$WORK/hold3" && exec sipp "127.0.0.3:$SIP_PORT" -sf "$SC/uac_call.xml" -inf "$WORK/calls.csv" -auth_uri "$CALLED@127.0.0.3:$SIP_PORT" \
		-i 127.0.0.1 -p 0 -r "$KILL_CALLS" -m "$KILL_CALLS" -d 120000 -nostdin >"$WORK/hold3/out" 2>&1) &
	HOLD=$!
	PIDS+=("$HOLD")
	key="{$PREFIX}:limit:peer:1"
	for _ in $(seq 200); do
		held=$(redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" zcard "$key")
		[[ $held -ge $KILL_CALLS ]] && break
		sleep 0.05
	done
	echo "slots of carrier1 held: $held"
	t0=$(date +%s%N)
	kill -9 "${SWITCH[2]}"
	for _ in $(seq 600); do
		now_ms=$(redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" time | awk 'NR == 1 { s = $1 } NR == 2 { printf "%d", s * 1000 + $1 / 1000 }')
		live=$(redis-cli -h "${REDIS%:*}" -p "${REDIS#*:}" zcount "$key" "($now_ms" +inf)
		[[ $live = 0 ]] && break
		sleep 0.05
	done
	echo "lease $LEASE: the dead host's slots stopped counting $((($(date +%s%N) - t0) / 1000000)) ms after kill -9 (live slots now: $live)"
	kill "$HOLD" 2>/dev/null || true
fi
if [[ $FAILED_RUNS -ne 0 || $TOTAL_FAILED -ne 0 ]]; then
	echo "loadtest-cluster: FAILED ($TOTAL_FAILED calls failed)"
	exit 1
fi
echo "loadtest-cluster: OK"
