#!/usr/bin/env bash
# A four-validator posnode testnet in docker (see docker-compose.yml).
#
#   scripts/testnet.sh up          build the binary and the image, make the testnet once, start it, wait for health
#   scripts/testnet.sh down [-v]   stop it; -v also deletes the chains and the keys (the next up starts afresh)
#   scripts/testnet.sh reset       the same as down -v
#   scripts/testnet.sh attach N    the prompt of node N (detach: Ctrl-P Ctrl-Q; "quit" or Ctrl-C stops the node)
#   scripts/testnet.sh logs [N]    follow the logs (of node N, or of all)
#   scripts/testnet.sh status      containers and each node's height, peers, slot and signing
#   scripts/testnet.sh token N     print node N's API token (POST routes need "Authorization: Bearer <token>")
#   scripts/testnet.sh build       only build the binary and the image
#
# Environment: POSNODE_NAME (compose project, container and network prefix; default posnode), POSNODE_TESTNET_DIR
# (generated keys and genesis; default ./testnet), POSNODE_API_PORT1..4 (default 8081..8084), POSNODE_IMAGE
# (default posnode:local), POSNODE_P2P_ADDR and POSNODE_P2P_PORT (where node1's libp2p port is published; default
# 127.0.0.1:4011, so that a node started by hand on this machine keeps the default 4001; set POSNODE_P2P_ADDR=0.0.0.0
# to let other machines join), POSNODE_START_IN (genesis delay for a new testnet; default 10s).
#
# Each node's API token is <testnet dir>/nodeN/api-token, written by `posnode testnet` and mounted read-only
# into the container with the rest of the node's home.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export POSNODE_NAME=${POSNODE_NAME:-posnode}
export POSNODE_IMAGE=${POSNODE_IMAGE:-posnode:local}
POSNODE_TESTNET_DIR=${POSNODE_TESTNET_DIR:-$root/testnet}
mkdir -p "$(dirname "$POSNODE_TESTNET_DIR")"
POSNODE_TESTNET_DIR=$(cd "$(dirname "$POSNODE_TESTNET_DIR")" && pwd)/$(basename "$POSNODE_TESTNET_DIR")
export POSNODE_TESTNET_DIR
nodes=4
bin=$root/build/posnode

die() { echo "testnet: $*" >&2; exit 1; }

# compose runs whichever of `docker compose` (v2 plugin) and `docker-compose` (v1) is installed.
compose() {
	if docker compose version >/dev/null 2>&1; then
		docker compose -p "$POSNODE_NAME" -f "$root/docker-compose.yml" "$@"
	elif command -v docker-compose >/dev/null; then
		docker-compose -p "$POSNODE_NAME" -f "$root/docker-compose.yml" "$@"
	else
		die "neither 'docker compose' nor 'docker-compose' is installed"
	fi
}

api_port() { local v="POSNODE_API_PORT$1"; echo "${!v:-$((8080 + $1))}"; }

container() { echo "$POSNODE_NAME-node$1"; }

# progress counts the packages `go build -v` names as it compiles them (on a terminal, on one line that it
# rewrites), and passes every other line (downloads, errors) through. $1 is how many packages the build holds.
progress() {
	local total=$1 done=0 line
	while IFS= read -r line; do
		if [[ ! $line =~ ^[A-Za-z0-9._~/-]+$ ]]; then
			[[ -t 1 ]] && printf '\r\033[K'
			echo "  $line"
			continue
		fi
		done=$((done + 1))
		if [[ -t 1 ]]; then
			printf '\r\033[K  compiling %d/%d  %.60s' "$done" "$total" "$line"
		elif ((done % 25 == 0)); then
			echo "  compiled $done of $total packages"
		fi
	done
	[[ -t 1 ]] && printf '\r\033[K'
	echo "  compiled $done packages; the other $((total - done)) of $total were up to date"
}

# build makes the static binary on the host and the FROM-scratch image around it. A first build compiles about
# 600 packages (a few minutes on two cores); later ones only what changed.
build() {
	echo "building build/posnode (static, from $root) and image $POSNODE_IMAGE"
	local v total
	v=$(git describe --always --dirty 2>/dev/null || echo dev)
	total=$(CGO_ENABLED=0 go list -deps ./cmd/posnode | wc -l) || die "go list failed (is Go 1.26 installed?)"
	CGO_ENABLED=0 go build -v -trimpath -ldflags "-s -w -X main.version=$v" -o "$bin" ./cmd/posnode 2>&1 |
		progress "$total" || die "go build failed"
	local out
	out=$(docker build -q -t "$POSNODE_IMAGE" "$root" 2>&1) || { echo "$out" >&2; die "docker build failed"; }
	echo "  image $POSNODE_IMAGE ($(du -h "$bin" | cut -f1) binary, FROM scratch)"
}

# generate makes the keys and genesis once; an existing testnet is kept so that a restart keeps its chain.
generate() {
	local dir=$POSNODE_TESTNET_DIR
	if [[ -f $dir/genesis.json ]]; then
		grep -q '/dns4/node' "$dir/node1/config.json" 2>/dev/null ||
			die "$dir holds a testnet made without --dns-prefix node; move it away or run: $0 reset"
		[[ -f $dir/node1/api-token ]] ||
			die "$dir was made before API tokens existed; run: $0 reset (a new testnet has them)"
		echo "reusing the testnet in $dir (genesis $(sed -n 's/.*"genesis_time": "\(.*\)".*/\1/p' "$dir/genesis.json"))"
		return
	fi
	# A new genesis cannot follow old chains: drop any volumes left from an earlier testnet.
	compose down -v --remove-orphans >/dev/null 2>&1 || true
	local out
	out=$("$bin" testnet --nodes "$nodes" --dir "$dir" --dns-prefix node --stakes 10,20,30,40 \
		--start-in "${POSNODE_START_IN:-10s}") || die "posnode testnet failed"
	echo "new ${out%%$'\n'*} in $dir"
}

wait_healthy() {
	local deadline=$((SECONDS + ${1:-90})) i state all
	while :; do
		all=1
		for ((i = 1; i <= nodes; i++)); do
			state=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' \
				"$(container "$i")" 2>/dev/null || echo missing)
			[[ $state == healthy ]] || all=0
		done
		((all)) && return 0
		((SECONDS < deadline)) || { compose ps >&2; die "nodes not healthy after ${1:-90}s (see: $0 logs)"; }
		sleep 1
	done
}

urls() {
	local i
	for ((i = 1; i <= nodes; i++)); do
		echo "  node$i  explorer http://127.0.0.1:$(api_port "$i")/   api /api/status   prompt: $0 attach $i"
	done
	echo "POST routes need the node's token, e.g.:"
	echo "  curl -XPOST -H \"Authorization: Bearer \$($0 token 1)\" 127.0.0.1:$(api_port 1)/api/bpm -d '{\"bpm\": 72}'"
}

# slot_ms prints the testnet's slot duration in milliseconds, from genesis.json ("1s", "500ms"); nothing for
# another form.
slot_ms() {
	local d
	d=$(sed -n 's/.*"slot_duration": "\(.*\)".*/\1/p' "$POSNODE_TESTNET_DIR/genesis.json" 2>/dev/null) || true
	if [[ $d =~ ^([0-9]+)ms$ ]]; then
		echo "${BASH_REMATCH[1]}"
	elif [[ $d =~ ^([0-9]+)s$ ]]; then
		echo $((BASH_REMATCH[1] * 1000))
	fi
}

# signing_line turns node N's healthcheck line ("ok height H peers P slot S signing WHY") into when it signs:
# a validator that starts sits out the doppelganger check (PROTOCOL.md §10) before it signs a block or a vote,
# so after a down/up the testnet makes no block until the check ends. $3 is the slot duration in ms, or "".
signing_line() {
	local n=$1 line=$2 ms=$3 slot signing
	if [[ ! $line =~ \ slot\ ([0-9]+)\ signing\ (.*)$ ]]; then
		echo "node$n: signing unknown (${line:-no answer})"
		return
	fi
	slot=${BASH_REMATCH[1]} signing=${BASH_REMATCH[2]}
	if [[ $signing == active ]]; then
		echo "node$n: signing"
	elif [[ $signing == "not a validator" ]]; then
		echo "node$n: not a validator (no stake in this epoch's or the next one's table: nothing to sign)"
	elif [[ $signing =~ ^waiting\ for\ the\ doppelganger\ check\ until\ slot\ ([0-9]+) ]]; then
		local until=${BASH_REMATCH[1]} about=""
		if [[ -n $ms ]] && ((until > slot)); then
			about=", about $(((until - slot) * ms / 1000)) s"
		fi
		echo "node$n: signing resumes at slot $until (doppelganger check$about)"
	else
		echo "node$n: not signing: $signing"
	fi
}

# signing_report says when each node signs again (read from its /api/status, as status shows it).
signing_report() {
	local i ms line
	ms=$(slot_ms)
	for ((i = 1; i <= nodes; i++)); do
		line=$("$bin" healthcheck --http "127.0.0.1:$(api_port "$i")" 2>&1) || true
		signing_line "$i" "$line" "$ms"
	done
}

status() {
	compose ps
	local i
	for ((i = 1; i <= nodes; i++)); do
		printf 'node%d  ' "$i"
		"$bin" healthcheck --http "127.0.0.1:$(api_port "$i")" 2>&1 || true
	done
}

cmd=${1:-}
shift || true
case $cmd in
build) build ;;
up)
	build
	generate
	compose up -d
	wait_healthy 90
	echo "testnet $POSNODE_NAME is up:"
	urls
	signing_report
	;;
down)
	if [[ ${1:-} == -v ]]; then
		compose down -v --remove-orphans
		rm -rf "$POSNODE_TESTNET_DIR"
	else
		compose down
	fi
	;;
reset)
	compose down -v --remove-orphans
	rm -rf "$POSNODE_TESTNET_DIR"
	;;
attach)
	[[ ${1:-} =~ ^[1-4]$ ]] || die "usage: $0 attach N (1..$nodes)"
	echo "attached to node$1: press Enter, then type help. Detach with Ctrl-P Ctrl-Q (Ctrl-C or quit stops the node)." >&2
	exec docker attach "$(container "$1")"
	;;
logs)
	# The nodes' prompts are on a terminal, so each logs to /data/posnode.log (the image has no tail: the binary
	# prints it); docker logs holds the prompts' lines and the warnings.
	if [[ -n ${1:-} ]]; then
		exec docker exec "$(container "$1")" /posnode logs --data /data --follow
	fi
	for ((i = 1; i <= nodes; i++)); do
		docker exec "$(container "$i")" /posnode logs --data /data --follow | sed -u "s/^/node$i | /" &
	done
	wait
	;;
status) [[ -x $bin ]] || build; status ;;
token)
	[[ ${1:-} =~ ^[1-4]$ ]] || die "usage: $0 token N (1..$nodes)"
	cat "$POSNODE_TESTNET_DIR/node$1/api-token"
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
