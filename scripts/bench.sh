#!/usr/bin/env bash
# Runs posnode's benchmark suite on this machine and rewrites the generated tables of BENCHMARKS.md (the parts
# between <!-- BEGIN name --> and <!-- END name --> markers; the text around them is kept).
#
#   scripts/bench.sh                 # everything, about 25 minutes on 2 cores (12 of them the WAN testbed, as root)
#   COUNT=2 NETBENCH_FLAGS="-window-slots 10 -window-time 5s -tput-time 10s -tput-runs 1 -sync-blocks 2000 \
#     -scale-nodes 16 -prop-nodes 4,16 -res-idle 5s -res-page 5s -res-load 5s" scripts/bench.sh   # a quick smoke run
#
# Needs only Go, except the WAN testbed (root, iproute2, nftables), which is skipped without them. Outputs and logs
# go to build/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-5}
NETBENCH_FLAGS=${NETBENCH_FLAGS:-}
out=build/bench
start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf "$out"
mkdir -p "$out"
step() { printf '\n== %s (%ds)\n' "$1" $(($(date +%s) - start)) >&2; }

step "build"
go build -o build/posnode ./cmd/posnode
go build -o build/netbench ./scripts/netbench
build/netbench -figures machine >"$out/results.md"

step "lottery benchmarks (-count $COUNT)"
go test -run '^$' -bench '^(BenchmarkPick|BenchmarkPoolPick)$' -count "$COUNT" ./consensus | tee "$out/lottery.txt" >&2
build/netbench -figures lottery -bench-input "$out/lottery.txt" >>"$out/results.md"

step "block insertion benchmarks (-count $COUNT)"
# Fixed iteration counts: each iteration of these builds and signs its block first, so time-based runs would
# spend most of their time in setup.
go test -run '^$' -bench '^(BenchmarkInsert|BenchmarkInsertVerified)$' -benchtime 200x -count "$COUNT" ./chain \
	| tee "$out/insert.txt" >&2
go test -run '^$' -bench '^BenchmarkInsertBatch$' -benchtime 2000x -count "$COUNT" ./chain | tee -a "$out/insert.txt" >&2
build/netbench -figures insert -bench-input "$out/insert.txt" >>"$out/results.md"

step "VRF and block validation benchmarks (-count $COUNT)"
go test -run '^$' -bench '^(BenchmarkVRFProve|BenchmarkVRFVerify|BenchmarkVRFOutput|BenchmarkValidateBlock)$' \
	-benchtime 200x -count "$COUNT" ./chain | tee "$out/vrf.txt" >&2
build/netbench -figures vrf -bench-input "$out/vrf.txt" >>"$out/results.md"

step "finality figure and vote benchmarks (-count $COUNT)"
go test -run '^$' -bench '^(BenchmarkVoteCheck|BenchmarkVotesForBlock)$' -benchmem -count "$COUNT" ./node/votepool \
	| tee "$out/votes.txt" >&2
# shellcheck disable=SC2086 # NETBENCH_FLAGS is a list of flags
build/netbench -figures fin -bench-input "$out/votes.txt" $NETBENCH_FLAGS >>"$out/results.md" \
	2> >(tee "$out/fin.log" >&2)

step "network figures"
# Throughput first, in a fresh process, before the scale figure's clusters of up to 256 nodes have run in it.
# shellcheck disable=SC2086 # NETBENCH_FLAGS is a list of flags
build/netbench -figures tput,fill,prop,scale,sync,res -posnode build/posnode $NETBENCH_FLAGS \
	>>"$out/results.md" 2> >(tee "$out/netbench.log" >&2)

step "deterministic simulator"
# Honest networks, no faults: the node's own code under virtual time (posnode sim net). CPU time is the process's
# (every thread, the garbage collector's too), and node-seconds per CPU-second divide the simulated time of every
# process by it. SIM_FLAGS adds flags to every run (e.g. "--duration 20s" for a smoke run).
SIM_FLAGS=${SIM_FLAGS:-}
honest="--crash-every 0 --partition-every 0 --dup 0 --clock-skew 0"
# shellcheck disable=SC2086 # honest and SIM_FLAGS are lists of flags
{
	build/posnode sim net --markdown sim-speed --seeds 3 --nodes 64 --duration 60s --loss 0 --record-every 100ms \
		$honest $SIM_FLAGS
	build/posnode sim net --markdown sim-speed-mesh --seeds 3 --nodes 64 --mesh 8 --duration 60s --loss 0 \
		--record-every 100ms $honest $SIM_FLAGS
	build/posnode sim net --markdown sim-scale --nodes 256 --mesh 8 --duration 30s --heal 16s --loss 5 $honest \
		$SIM_FLAGS
	build/posnode sim net --markdown sim-scale-10m --nodes 256 --mesh 8 --duration 584s --heal 16s --loss 5 $honest \
		$SIM_FLAGS
	# The issue's network: 1,024 validators for 10 simulated minutes (about 21 CPU-minutes and 6 GB on 2 cores).
	build/posnode sim net --markdown sim-1024-10m --nodes 1024 --mesh 8 --duration 584s --heal 16s --loss 5 $honest \
		$SIM_FLAGS
} >>"$out/results.md" 2> >(tee "$out/sim.log" >&2)

step "WAN testbed"
# 16 processes in network namespaces with shaped links (scripts/wan.sh); needs root, iproute2 and nftables. Its
# table is kept as it was when it cannot run. WAN_FLAGS adds or overrides -wan-* flags.
WAN_FLAGS=${WAN_FLAGS:-}
if ((EUID == 0)) && command -v ip >/dev/null && command -v nft >/dev/null; then
	# shellcheck disable=SC2086 # WAN_FLAGS is a list of flags
	build/netbench -figures wan -posnode build/posnode -wan-strict=false $WAN_FLAGS >>"$out/results.md" \
		2> >(tee "$out/wan.log" >&2)
else
	echo "skipped: the WAN testbed needs root, ip and nft" >&2
fi

elapsed=$(($(date +%s) - start))
{
	echo "<!-- BEGIN run -->"
	echo "| | |"
	echo "|---|---|"
	echo "| command | \`scripts/bench.sh\`${NETBENCH_FLAGS:+ with NETBENCH_FLAGS=\"$NETBENCH_FLAGS\"}, COUNT=$COUNT |"
	echo "| commit | $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with uncommitted changes)') |"
	echo "| load average (1, 5, 15 min) before / after | $load_start / $(cut -d' ' -f1-3 /proc/loadavg) |"
	echo "| total run time | $((elapsed / 60)) min $((elapsed % 60)) s |"
	echo "<!-- END run -->"
} >>"$out/results.md"

step "rewrite BENCHMARKS.md"
# Replace every marked section of BENCHMARKS.md that results.md holds; keep everything else.
awk -v res="$out/results.md" '
BEGIN {
	while ((getline line < res) > 0) {
		if (line ~ /^<!-- BEGIN [a-z0-9-]+ -->$/) { split(line, f, " "); cur = f[3]; sec[cur] = ""; continue }
		if (line ~ /^<!-- END [a-z0-9-]+ -->$/) { cur = ""; continue }
		if (cur != "") sec[cur] = sec[cur] line "\n"
	}
}
/^<!-- BEGIN [a-z0-9-]+ -->$/ { split($0, f, " "); print; if (f[3] in sec) { printf "%s", sec[f[3]]; skip = 1 }; next }
/^<!-- END [a-z0-9-]+ -->$/ { skip = 0; print; next }
!skip { print }
' BENCHMARKS.md >"$out/BENCHMARKS.md.new"
mv "$out/BENCHMARKS.md.new" BENCHMARKS.md
echo "done in $((elapsed / 60)) min $((elapsed % 60)) s; tables rewritten in BENCHMARKS.md" >&2
