# Shell functions the load-test scripts share (sourced, not run):
# stopping what a run started, reading SIPp's statistics and response
# times, the machine's CPU ticks.

# require_positive exits 2 naming the first of the variables that is not
# a positive integer; the script's name (first argument) starts the message.
require_positive() { # script VAR...
	local who=$1 v
	shift
	for v in "$@"; do
		[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || { echo "$who: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
	done
}

# stop_pids stops the processes in the PIDS array: SIGTERM, up to 5 s to
# exit, then SIGKILL.
stop_pids() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}

# sipp_stat prints a cumulative counter from the last line of a SIPp
# statistics file (-trace_stat), by column name.
sipp_stat() { # column file
	awk -F';' -v col="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next } { v = $c } END { print v + 0 }' "$2"
}

# machine_ticks prints the busy and total ticks of the whole machine
# (/proc/stat "cpu" line).
machine_ticks() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; total = busy + $5 + $6; print busy, total }' /proc/stat; }

# rtt_report prints SIPp's response times (-trace_rtt files): 1 is the
# authenticated INVITE -> 200, 2 BYE -> 200.
rtt_report() { # rtt.csv files...
	local rtd
	for rtd in 1 2; do
		cat "$@" 2>/dev/null | awk -F';' -v r="$rtd" '$3 == r { print $2 }' | sort -n |
			awk -v r="$rtd" '{ v[NR] = $1; sum += $1 } END {
				if (NR == 0) exit
				name = (r == 1) ? "INVITE->200" : "BYE->200"
				printf "response time %-11s ms: mean %.2f  p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (n=%d)\n", name, sum / NR, v[int(NR * .5) + (NR * .5 > int(NR * .5))], v[int(NR * .9) + (NR * .9 > int(NR * .9))], v[int(NR * .99) + (NR * .99 > int(NR * .99))], v[NR], NR }'
	done
}
