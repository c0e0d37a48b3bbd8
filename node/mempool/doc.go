// Package mempool holds the transactions a node has admitted and not yet seen in a block (PROTOCOL.md §3, §9,
// §10): per sender, a run of nonces that applies in order on the head, funded by the sender's own balance, and a
// small bucket of transactions waiting behind a nonce gap that is never forwarded; bounds per sender and in all,
// eviction by fee, expiry of gaps and of old transactions, and the order in which gossiped batches of one sender
// reach the pool (Order). The node's event loop owns a Pool; Order has its own lock, since gossip validators run
// on other goroutines.
package mempool
