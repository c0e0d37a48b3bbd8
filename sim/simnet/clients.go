package simnet

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// gapBatch is how many nonce-gapped transactions one flood message carries, and gapBase how far beyond the
// flooder's nonce the first one is: the flooder never sends the transactions that would fill the gap.
const (
	gapBatch = 16
	gapBase  = 2
)

// flooderKey is the key of the client that floods gap transactions: an account of its own, funded at genesis so
// that its transactions pass a node's first checks.
func (s *Sim) flooderKey() ed25519.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "posnode/simnet/%d/flooder", s.cfg.Seed))
	return ed25519.NewKeyFromSeed(seed[:])
}

// clientAllocations are the genesis accounts of the run's clients other than the processes' own.
func (s *Sim) clientAllocations() []chain.Allocation {
	if s.cfg.GapFloodEvery <= 0 {
		return nil
	}
	return []chain.Allocation{{Address: chain.AddressOf(s.flooderKey().Public().(ed25519.PublicKey)), Balance: 1 << 30}}
}

// scheduleGapFlood has the gap flooder send a batch every GapFloodEvery during the fault phase.
func (s *Sim) scheduleGapFlood() { s.everyInFaults(s.cfg.GapFloodEvery, "gap-flood", s.gapFlood) }

// gapFlood sends one batch of gapBatch transactions of the flooder, each behind a nonce gap that is never filled,
// to a random live process as a peer would: the process's topic validator judges it, and only what it accepts
// goes on (PROTOCOL.md §3, §10: an honest node forwards no transaction that cannot apply next).
func (s *Sim) gapFlood() {
	p := s.procs[s.rng.IntN(len(s.procs))]
	if !p.up {
		return
	}
	key := s.flooderKey()
	from := chain.AddressOf(key.Public().(ed25519.PublicKey))
	nonce := p.node.Chain().HeadState().Account(from).Nonce
	txs := make([]chain.Tx, gapBatch)
	for i := range txs {
		to := s.procs[s.rng.IntN(len(s.procs))].addr
		txs[i] = chain.NewTx(chain.TxTransfer, from, nonce+gapBase+chain.Nonce(i), to, 1, s.gen.TxFee)
		txs[i].Sign(s.gen.Hash(), key)
	}
	data := chain.EncodeTxBatch(txs)
	id := msgID("txs", data)
	s.adv.gapMsgs[id] = true
	s.adv.gapSent += len(txs)
	s.seenBefore(p, id)
	v := p.net.topics["txs"]
	if v == nil {
		return
	}
	verdict := v(context.Background(), "gap-flooder", data)
	s.adv.gapVerdicts[verdict]++
	if verdict != p2p.Accept {
		return
	}
	s.checkForwarded(p.id, id)
	for _, h := range s.forwardTo(p.id, -1) {
		s.send(p.id, h, "txs", "gossip:txs", id, data)
	}
}

// checkForwarded is called when process id accepted a gossip message, which it then forwards: a gap flood
// message accepted by an honest process breaks PROTOCOL.md §3 (transactions behind a nonce gap are never
// forwarded). Reported once per run, with the count at the end (checkEnd).
func (s *Sim) checkForwarded(id int, msg [32]byte) {
	if !s.adv.gapMsgs[msg] || s.isByzantine(id) {
		return
	}
	if s.adv.forwarded == 0 {
		s.violate("gap forwarding: process %d accepted and forwarded a batch of transactions behind a nonce gap", id)
	}
	s.adv.forwarded++
}

// rememberNonce keeps the nonce of a record p acknowledged, for the durability invariant.
func (s *Sim) rememberNonce(p *process, id chain.Hash) {
	st, err := p.node.Tx(context.Background(), id)
	if err == nil && st.Tx != nil {
		s.adv.nonces[id] = chain.Nonce(st.Tx.Nonce)
	}
}
