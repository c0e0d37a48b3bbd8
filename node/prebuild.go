package node

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/consensus"
)

// buildFlushEvery is how many built blocks BuildChain writes to the database in one transaction.
const buildFlushEvery = 500

// BuildChain writes a chain of the given number of blocks on genesis g into the chain database in dataDir, which
// must not hold any block yet: block i fills slot i, proposed and signed by that slot's lottery winner, whose key
// must be among keys. Each block carries txsPerBlock BPM records sent by the keys' accounts in turn (each needs a
// balance of at least g.TxFee per record). Tests and benchmarks use it to give a node a long chain quickly:
// blocks are built in memory and written in large batches rather than one synced write each.
func BuildChain(dataDir string, g *chain.Genesis, keys []ed25519.PrivateKey, blocks, txsPerBlock int) error {
	return buildChain(dataDir, g, keys, blocks, txsPerBlock, false)
}

// BuildFinalizingChain is BuildChain without records and with checkpoint votes: the first block of each epoch
// after 0 carries a vote of every key that is in the epoch's stake table, from the justified checkpoint to the
// epoch's, so that, when the keys hold more than two thirds of the stake, every epoch is justified and the one
// before it finalized (PROTOCOL.md §8a). Its builder prunes as a node does (the default retention window), so its
// memory does not grow with the chain; the node that opens the database replays the chain once and prunes it.
func BuildFinalizingChain(dataDir string, g *chain.Genesis, keys []ed25519.PrivateKey, blocks int) error {
	return buildChain(dataDir, g, keys, blocks, 0, true)
}

func buildChain(dataDir string, g *chain.Genesis, keys []ed25519.PrivateKey, blocks, txsPerBlock int, vote bool) error {
	store, err := chain.OpenBolt(filepath.Join(dataDir, "chain.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := checkEmpty(store, g); err != nil {
		return err
	}
	mem, err := chain.OpenTree(chain.TreeConfig{Genesis: g, Store: chain.NewMemStore(), Elect: consensus.Leader,
		Better: consensus.Better, Finality: consensus.FFGRules(), RetainEpochs: chain.DefaultRetainEpochs})
	if err != nil {
		return err
	}
	b := builder{tree: mem, chainID: g.Hash(), fee: g.TxFee, keys: map[chain.Address]ed25519.PrivateKey{}, vote: vote}
	for _, k := range keys {
		a := chain.AddressOf(k.Public().(ed25519.PublicKey))
		b.keys[a], b.senders = k, append(b.senders, a)
	}
	var batch []*chain.Block
	for s := chain.Slot(1); s <= chain.Slot(blocks); s++ {
		blk, err := b.next(s, txsPerBlock)
		if err != nil {
			return fmt.Errorf("slot %d: %w", s, err)
		}
		if batch = append(batch, blk); len(batch) == buildFlushEvery || s == chain.Slot(blocks) {
			if err := store.PutBlocks(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// checkEmpty fails unless the store holds no block (it claims the store for g's chain on the way).
func checkEmpty(store chain.Store, g *chain.Genesis) error {
	t, err := chain.OpenTree(chain.TreeConfig{Genesis: g, Store: store, Elect: consensus.Leader, Better: consensus.Better, Finality: consensus.FFGRules()})
	if err != nil {
		return err
	}
	if h := t.Head().Height; h > 0 {
		return fmt.Errorf("chain database already holds blocks up to height %d", h)
	}
	return nil
}

// builder proposes the blocks of BuildChain on an in-memory tree.
type builder struct {
	tree    *chain.Tree
	chainID chain.Hash
	fee     chain.Amount
	keys    map[chain.Address]ed25519.PrivateKey
	senders []chain.Address
	turn    int // the sender of the next record
	vote    bool
	voted   chain.Epoch // the last epoch whose votes a block carries
}

// next proposes and inserts the block of slot s with n BPM records.
func (b *builder) next(s chain.Slot, n int) (*chain.Block, error) {
	leader, ok := b.tree.Leader(s)
	if !ok {
		return nil, errors.New("no leader")
	}
	key, ok := b.keys[leader]
	if !ok {
		return nil, fmt.Errorf("no key for the winner %s", leader)
	}
	blk, bad, err := b.tree.ProposeBody(b.tree.Head().Hash, s, key, chain.Body{Txs: b.records(n), Votes: b.votes(s)})
	if err == nil && len(bad) > 0 {
		err = fmt.Errorf("record left out: %w", bad[0].Err)
	}
	if err == nil {
		_, err = b.tree.Insert(blk, s)
	}
	return blk, err
}

// records signs n BPM records on top of the head, the senders taking turns.
func (b *builder) records(n int) []chain.Tx {
	if n == 0 || len(b.senders) == 0 {
		return nil
	}
	st := b.tree.HeadState()
	nonces := map[chain.Address]chain.Nonce{}
	txs := make([]chain.Tx, n)
	for i := range txs {
		from := b.senders[b.turn%len(b.senders)]
		b.turn++
		nonce, ok := nonces[from]
		if !ok {
			nonce = st.Account(from).Nonce
		}
		nonces[from] = nonce + 1
		txs[i] = chain.NewTx(chain.TxBPM, from, nonce, chain.Address{}, uint64(60+i%60), b.fee)
		txs[i].Sign(b.chainID, b.keys[from])
	}
	return txs
}

// votes returns, for the first block of an epoch after 0, every key's vote for the epoch's checkpoint on the head's
// branch, from its justified checkpoint; nil otherwise.
func (b *builder) votes(s chain.Slot) []chain.Vote {
	e := b.tree.Genesis().EpochOf(s)
	if !b.vote || e == 0 || e == b.voted {
		return nil
	}
	b.voted = e
	source, _ := b.tree.Finality()
	var out []chain.Vote
	for _, a := range b.senders {
		if in, err := b.tree.InStakeTable(e, a); err != nil || !in {
			continue
		}
		v := chain.Vote{Validator: a, Source: source, Target: b.tree.Checkpoint(e)}
		v.Sign(b.chainID, b.keys[a])
		out = append(out, v)
	}
	return out
}
