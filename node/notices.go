package node

import (
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// The notices a user of the prompt wants about their own account (issue: "notices a user wants"): a transaction
// submitted here committed in a block, then final; tokens received; a stake change in force from its epoch
// (PROTOCOL.md §6); finality stalled (stall.go). They are computed on the event loop, only when there is a prompt
// (n.events), and cost a map lookup per transaction of each block that joins the canonical chain.

const (
	// maxOwnTxs is how many transactions submitted through this node are followed until final; past it the
	// oldest is forgotten (its notices are not printed), so that a flood of API submissions costs bounded memory.
	maxOwnTxs = 4096
	// eachLine is how many transactions of one block, or of one finalization, are told one line each; more are
	// summed in one line.
	eachLine = 3
)

// ownTx is a transaction submitted through this node, followed until a finalized block holds it.
type ownTx struct {
	tx     chain.Tx
	block  chain.Hash // the canonical block that holds it; zero while pending
	height chain.Height
}

// stakeChange is a committed stake or unstake of this node's account waiting for the epoch it counts from.
type stakeChange struct {
	id    chain.Hash
	tx    chain.Tx
	block chain.Hash
	from  chain.Epoch // the epoch whose stake table first holds it: the block's epoch + chain.StakeLag
}

// noticeState is what the notices remember; only the event loop touches it.
type noticeState struct {
	own    map[chain.Hash]*ownTx
	order  []chain.Hash // own's keys, oldest first, for forgetting past maxOwnTxs
	stakes []stakeChange
}

// followOwn starts following tx, just admitted from this node's prompt or API, until a finalized block holds it.
func (n *Node) followOwn(tx chain.Tx) {
	if n.events == nil {
		return
	}
	ns := &n.notes
	if ns.own == nil {
		ns.own = map[chain.Hash]*ownTx{}
	}
	id := tx.ID()
	if _, ok := ns.own[id]; ok {
		return
	}
	for len(ns.own) >= maxOwnTxs && len(ns.order) > 0 {
		delete(ns.own, ns.order[0])
		ns.order = ns.order[1:]
	}
	ns.own[id] = &ownTx{tx: tx}
	ns.order = append(ns.order, id)
}

// forgetOwn stops following a transaction that was not kept (its write to the log failed).
func (n *Node) forgetOwn(id chain.Hash) {
	if _, ok := n.notes.own[id]; ok {
		delete(n.notes.own, id)
		n.notes.order = removeHash(n.notes.order, id)
	}
}

func removeHash(hs []chain.Hash, h chain.Hash) []chain.Hash {
	for i := range hs {
		if hs[i] == h {
			return append(hs[:i], hs[i+1:]...)
		}
	}
	return hs
}

// noticeChange tells the prompt what a move of the head did to this node's account: its followed transactions
// committed or returned to pending by a reorg, and tokens it received. Called on the loop by applyChange.
func (n *Node) noticeChange(c chain.Change) {
	if n.events == nil {
		return
	}
	returned := n.noticeReverted(c.Reverted)
	for _, b := range c.Applied {
		n.noticeCommitted(b, returned)
	}
	for _, t := range returned {
		n.announce("reorg: your %s left the chain with its block; it is pending again", describeTx(&t.tx))
	}
	n.noticeReceived(c.Applied)
}

// noticeReverted marks the followed transactions of reverted blocks pending again and returns them by ID.
func (n *Node) noticeReverted(reverted []*chain.Block) map[chain.Hash]*ownTx {
	returned := map[chain.Hash]*ownTx{}
	if len(n.notes.own) == 0 {
		return returned
	}
	for _, b := range reverted {
		h := b.Hash()
		for id, t := range n.notes.own {
			if t.block == h {
				t.block, t.height = chain.Hash{}, 0
				returned[id] = t
			}
		}
		n.notes.stakes = dropStakes(n.notes.stakes, h)
	}
	return returned
}

func dropStakes(ss []stakeChange, block chain.Hash) []stakeChange {
	out := ss[:0]
	for _, s := range ss {
		if s.block != block {
			out = append(out, s)
		}
	}
	return out
}

// noticeCommitted tells which followed transactions block b holds, and notes the stake changes among them.
func (n *Node) noticeCommitted(b *chain.Block, returned map[chain.Hash]*ownTx) {
	if len(n.notes.own) == 0 {
		return
	}
	h, height := b.Hash(), b.Header.Height
	var got []*ownTx
	for i := range b.Txs {
		id := b.Txs[i].ID()
		t, ok := n.notes.own[id]
		if !ok {
			continue
		}
		t.block, t.height = h, height
		delete(returned, id)
		got = append(got, t)
		if k := t.tx.Kind; k == chain.TxStake || k == chain.TxUnstake {
			from := n.cfg.Genesis.EpochOf(b.Header.Slot) + chain.StakeLag
			n.notes.stakes = append(n.notes.stakes, stakeChange{id: id, tx: t.tx, block: h, from: from})
		}
	}
	if len(got) > eachLine {
		n.announce("committed: %d of your transactions in block #%d %s (not final yet)", len(got), height, h.Short())
		return
	}
	for _, t := range got {
		n.announce("committed: your %s in block #%d %s (not final yet)%s", describeTx(&t.tx), height, h.Short(),
			n.stakeNote(&t.tx, b.Header.Slot))
	}
}

// stakeNote is what a committed stake change adds to its notice: the epoch it counts from (PROTOCOL.md §6).
func (n *Node) stakeNote(tx *chain.Tx, s chain.Slot) string {
	if tx.Kind != chain.TxStake && tx.Kind != chain.TxUnstake {
		return ""
	}
	e := n.cfg.Genesis.EpochOf(s)
	return fmt.Sprintf("; committed in epoch %d, it counts in the stake table from epoch %d", e, e+chain.StakeLag)
}

// noticeFinal tells which followed transactions the finalized checkpoint now covers, and stops following them.
// Called on the loop each time the finalized checkpoint moves.
func (n *Node) noticeFinal(f chain.Checkpoint) {
	var final []*ownTx
	kept := n.notes.order[:0]
	for _, id := range n.notes.order {
		t := n.notes.own[id]
		if t.block == (chain.Hash{}) || !n.tree.IsFinal(t.block) {
			kept = append(kept, id)
			continue
		}
		final = append(final, t)
		delete(n.notes.own, id)
	}
	n.notes.order = kept
	if len(final) == 0 {
		return
	}
	if len(final) > eachLine {
		n.announce("final: %d of your transactions, in blocks #%d..#%d (finalized epoch %d)", len(final),
			final[0].height, final[len(final)-1].height, f.Epoch)
		return
	}
	for _, t := range final {
		n.announce("final: your %s in block #%d (finalized epoch %d)", describeTx(&t.tx), t.height, f.Epoch)
	}
}

// noticeStakes tells, at the first slot of an epoch, which committed stake changes of this account count from
// it, with the account's stake in its table. Called on the loop at every slot.
func (n *Node) noticeStakes(s chain.Slot) {
	if len(n.notes.stakes) == 0 {
		return
	}
	e := n.cfg.Genesis.EpochOf(s)
	var due, later []stakeChange
	for _, sc := range n.notes.stakes {
		if sc.from <= e {
			due = append(due, sc)
		} else {
			later = append(later, sc)
		}
	}
	if len(due) == 0 {
		return
	}
	n.notes.stakes = later
	table, err := n.tree.StakeTable(e)
	if err != nil {
		n.log.Error("reading the stake table for a notice", zap.Uint64("epoch", uint64(e)), zap.Error(err))
	}
	mine, total := n.tableShare(table)
	for _, sc := range due {
		n.announce("epoch %d: your %s is in force: stake %s of %s in this epoch's table (%s)", e, describeTx(&sc.tx),
			view.GroupDigits(mine), view.GroupDigits(total), percent(mine, total))
	}
}

// tableShare returns this node's stake in table, and the table's total.
func (n *Node) tableShare(table []chain.Stake) (mine, total uint64) {
	for _, st := range table {
		total += uint64(st.Amount)
		if st.Addr == n.self {
			mine += uint64(st.Amount)
		}
	}
	return mine, total
}

// noticeReceived tells of transfers to this node's account in blocks that joined the canonical chain: one line
// each for the blocks of the last few slots, one line for all those of older blocks (history a sync fetched).
func (n *Node) noticeReceived(applied []*chain.Block) {
	current := n.currentSlot()
	var old, oldSum uint64
	var from, to chain.Height
	for _, b := range applied {
		live := b.Header.Slot+2 >= current
		for i := range b.Txs {
			tx := &b.Txs[i]
			if tx.Kind != chain.TxTransfer || tx.To != n.self || tx.From == n.self {
				continue
			}
			if live {
				n.announce("received %s from %s (tx %s, block #%d)", view.Tokens(tx.Value), tx.From.Short(),
					tx.ID().Short(), b.Header.Height)
				continue
			}
			if old == 0 {
				from = b.Header.Height
			}
			old, oldSum, to = old+1, oldSum+tx.Value, b.Header.Height
		}
	}
	if old > 0 {
		n.announce("received %s in %d transfer(s) of blocks #%d..#%d (history caught up)", view.Tokens(oldSum),
			old, from, to)
	}
}

// describeTx names a transaction for a notice: "bpm 72 (tx 1a2b3c4d)".
func describeTx(tx *chain.Tx) string {
	id := tx.ID().Short()
	switch tx.Kind {
	case chain.TxTransfer:
		return fmt.Sprintf("transfer of %s to %s (tx %s)", view.GroupDigits(tx.Value), tx.To.Short(), id)
	case chain.TxBPM:
		return fmt.Sprintf("record bpm %d (tx %s)", tx.Value, id)
	}
	return fmt.Sprintf("%s %s (tx %s)", tx.Kind, view.GroupDigits(tx.Value), id)
}

// percent is part of total as a percentage with one decimal: "55.0%".
func percent(part, total uint64) string {
	if total == 0 {
		return "0.0%"
	}
	return strconv.FormatFloat(float64(part)*100/float64(total), 'f', 1, 64) + "%"
}

// since is how long ago t was, for a notice: "4m12s ago".
func since(now, t time.Time) string { return now.Sub(t).Round(time.Second).String() + " ago" }
