// Package node wires the protocol core (chain, consensus) to the network (p2p) and to its users, whose surfaces
// live in their own packages: node/httpapi (JSON API, events, explorer, metrics) and node/prompt (the console).
// Both reach the node through small interfaces of their own, which *Node implements; the shapes of its answers
// are in node/view, so that neither surface imports node.
//
// One event loop owns all mutable consensus state — the block tree, the mempool, the finality duty (node/finality:
// a state machine of voting, evidence and slashings, over node/votepool's checkpoint votes and evidence), the sync
// client and the signing records. Slot ticks, gossip validation, sync
// answers, local submissions and API queries all reach it as closures, so nothing else needs a lock. The logic
// reaches the world only through Env (env.go): a Network (gossip topics, request/response, peers, penalties), a
// Runtime (the loop's closures, timers and background work) and Config.Now. Run wires production's — libp2p
// behind hostNetwork, the wall clock, goroutines that own no chain state and exit when Run's context is done —
// and package sim/simnet wires virtual time and a simulated network through Start, running the same code
// deterministically. The loop publishes its head (headView) for the few readers that must not wait for it:
// status requests and the first check of gossiped transactions.
//
// Peers are not trusted: sync checks every answer against its request and charges the peer for lies and stalls
// (node/blocksync: the sync protocol's messages, the penalty each failure costs, and a sync run as a state
// machine that syncclient.go drives and syncjudge.go charges for), the mempool admits only what can apply
// (node/mempool), and a validator stops signing when it sees its key used by another process (doppelganger.go).
// internal/adversary plays these attacks in the tests.
//
// Every reason a validator will not sign goes through one gate (node/signgate, wired in signing.go), which the
// proposer and the voter consult and status, the prompt, the metrics and the log read.
//
// The finality duty (PROTOCOL.md §8a, §8b) decides and the loop acts: node/finality does no I/O and reads no
// clock; finality.go hands it the slots, the time to vote and the head's changes and carries out its decisions
// (sign through the slashing protection record, publish, count, tell), votegossip.go its answers to peers' votes
// and evidence, and stall.go words its stall notices.
package node
