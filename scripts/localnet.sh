#!/usr/bin/env bash
# N posnode validators as plain processes on loopback, without docker.
#
#   scripts/localnet.sh [N]            start N nodes (default 4), print their APIs, stop them all on Ctrl-C
#   scripts/localnet.sh N --check      start N nodes, wait until all of them hold the same block at a common
#                                      height >= 5, print one line per node, stop them; exit 1 on timeout
#
# Options: --dir DIR (default ./localnet; made afresh on every run), --timeout SECONDS (for --check; default 90),
# --base-port P (libp2p port of node 1; default 4101), --base-http P (API port of node 1; default 8181).
# Logs: DIR/nodeI.log. Needs curl.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=4 check=0 timeout=90 dir=$root/localnet base_port=4101 base_http=8181 min_height=5
while (($#)); do
	case $1 in
	--check) check=1 ;;
	--dir) dir=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--base-port) base_port=$2; shift ;;
	--base-http) base_http=$2; shift ;;
	[0-9]*) n=$1 ;;
	*) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
	shift
done
((n >= 1)) || { echo "localnet: need at least one node" >&2; exit 2; }
command -v curl >/dev/null || { echo "localnet: curl is needed" >&2; exit 1; }

bin=$root/build/posnode
pids=()

stop_all() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

api() { echo "127.0.0.1:$((base_http + $1 - 1))"; }

# field NAME reads a top-level number or string from the API's indented JSON on stdin.
field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -1; }

get() { curl -fsS --max-time 2 "http://$(api "$1")$2" 2>/dev/null; }

(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin" ./cmd/posnode)
rm -rf "$dir"
out=$("$bin" testnet --nodes "$n" --dir "$dir" --stakes 10,20,30,40 --start-in 5s \
	--base-port "$base_port" --base-http "$base_http")
echo "${out%%$'\n'*}"
for ((i = 1; i <= n; i++)); do
	"$bin" run --home "$dir/node$i" --no-prompt --mdns=false >"$dir/node$i.log" 2>&1 &
	pids+=($!)
done
for ((i = 1; i <= n; i++)); do
	echo "  node$i  http://$(api "$i")/api/status  log $dir/node$i.log"
done

if ((!check)); then
	echo "running; Ctrl-C stops all $n nodes"
	wait
	exit 0
fi

# converged prints the common height and its hash once every node answers with the same block there.
converged() {
	local i h common= hash want=
	for ((i = 1; i <= n; i++)); do
		h=$(get "$i" /api/status | field height) || return 1
		[[ -n $h ]] || return 1
		if [[ -z $common ]] || ((h < common)); then common=$h; fi
	done
	((common >= min_height)) || return 1
	for ((i = 1; i <= n; i++)); do
		hash=$(get "$i" "/api/blocks/$common" | field hash) || return 1
		[[ -n $hash ]] || return 1
		if [[ -z $want ]]; then want=$hash; elif [[ $hash != "$want" ]]; then return 1; fi
	done
	echo "$common $want"
}

deadline=$((SECONDS + timeout))
until result=$(converged); do
	if ((SECONDS >= deadline)); then
		echo "localnet: FAIL: no common block at height >= $min_height on all $n nodes after ${timeout}s" >&2
		for ((i = 1; i <= n; i++)); do echo "--- node$i" >&2; tail -5 "$dir/node$i.log" >&2; done
		exit 1
	fi
	sleep 1
done
read -r common hash <<<"$result"
for ((i = 1; i <= n; i++)); do
	st=$(get "$i" /api/status)
	reorgs=$(get "$i" /metrics | sed -n 's/^posnode_reorgs_total \([0-9]*\)$/\1/p')
	printf 'node%-3d height %-4s head %.8s  slot %-4s peers %-2s synced %-5s reorgs %-3s block #%s %.8s\n' "$i" \
		"$(field height <<<"$st")" "$(field head <<<"$st")" "$(field slot <<<"$st")" "$(field peers <<<"$st")" \
		"$(field synced <<<"$st")" "${reorgs:-?}" "$common" "$hash"
done
echo "localnet: OK: $n nodes agree on block #$common $hash"
