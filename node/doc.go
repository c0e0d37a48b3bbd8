// Package node wires the protocol core (chain, consensus) to the network (p2p) and to its users, whose surfaces
// live in their own packages: node/httpapi (JSON API, events, explorer, metrics) and node/prompt (the console).
// Both reach the node through small interfaces of their own, which *Node implements; the shapes of its answers
// are in node/view, so that neither surface imports node.
//
// One event loop owns all mutable consensus state — the block tree, the mempool, the vote pool (node/votepool:
// checkpoint votes and evidence), the sync and signing records. Slot ticks, gossip validation, sync batches, local
// submissions and API queries all reach it as closures on one channel, so nothing else needs a lock. Goroutines around it (syncer, publisher, prompt, HTTP server) own no
// chain state; each exits when the context passed to Run is done, and Run waits for them. The loop publishes its
// head (headView) for the few readers that must not wait for it: status requests and the first check of gossiped
// transactions.
//
// Peers are not trusted: sync checks every answer against its request and charges the peer for lies and stalls
// (syncjudge.go), the mempool admits only what can apply (mempool*.go), and a validator stops signing when it
// sees its key used by another process (doppelganger.go). internal/adversary plays these attacks in the tests.
//
// Every reason a validator will not sign goes through one gate (node/signgate, wired in signing.go), which the
// proposer and the voter consult and status, the prompt, the metrics and the log read.
package node
