package node

import (
	"time"

	"github.com/posnode/posnode/chain"
)

const (
	// regossipAfter is how long a transaction must have waited before the periodic round publishes it again: the
	// ones gossiped moments ago are still on their way.
	regossipAfter = regossipEvery / 2
	// joinRegossipAfter is how soon after a peer connected the node looks whether the transaction topic gained a
	// peer, and joinRegossipTries how many times it looks (the peer's subscription follows its connection).
	joinRegossipAfter = 100 * time.Millisecond
	joinRegossipTries = 30
)

// regossipState is the re-publication of pending transactions (PROTOCOL.md §10); the event loop owns it.
type regossipState struct {
	timer *Timer // armed after a peer connected, until the transaction topic gains a peer
	tries int    // looks left
	peers int    // peers on the transaction topic when the last peer connected
}

// peerConnected arms the look for a new peer on the transaction topic; called on the event loop.
func (n *Node) peerConnected() {
	r := &n.regossip
	r.tries, r.peers = joinRegossipTries, n.txTopic.Peers()
	r.timer.Stop()
	r.timer = n.after(joinRegossipAfter, n.regossipLook)
}

// regossipLook runs when the armed look is due: once the transaction topic has more peers than when the peer
// connected (or, at the last look, has any), the pending set goes out at once, whatever its age, so that a node
// that accepted transactions before it had peers, and a peer that just connected, do not wait for the periodic
// round. A message whose bytes this node published moments ago is not sent again (gossip's seen cache).
func (n *Node) regossipLook() {
	r := &n.regossip
	r.tries--
	if peers := n.txTopic.Peers(); peers > r.peers || r.tries == 0 && peers > 0 {
		r.tries = 0
		n.regossipPending(time.Time{})
		return
	}
	if r.tries > 0 {
		r.timer = n.after(joinRegossipAfter, n.regossipLook)
	}
}

// regossipRound is the periodic round: the pending transactions that waited regossipAfter.
func (n *Node) regossipRound() { n.regossipPending(n.cfg.Now().Add(-regossipAfter)) }

// regossipPending publishes again, in one message of at most regossipMax, the durable transactions of the runs
// that can apply whose next one was admitted at or before before (the zero time: any), the longest waiting
// first, whoever signed them: one lost by gossip (published before the mesh formed, during a partition, or
// ignored by a peer while it waited behind a gap) still reaches the proposers. Peers that have them ignore them.
// The pending evidence goes out again with them (regossipEvidence).
func (n *Node) regossipPending(before time.Time) {
	if txs := n.durableOnly(n.pool.Stale(n.tree.HeadState(), before, regossipMax)); len(txs) > 0 {
		n.publish(n.txTopic, chain.EncodeTxBatch(txs))
	}
	n.regossipEvidence()
}
