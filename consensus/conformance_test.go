package consensus

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// The conformance vectors (testdata/conformance/README.md): step scripts for fork choice, justification,
// finalization, slashing and weak subjectivity, in the shape of Ethereum's consensus-spec fork-choice tests. Each
// file is one case: a genesis, then steps (tick, block, batch, checks), replayed here against a freshly opened
// chain.Tree with the real rules (Leader, Better, FFGRules). The blocks are in their wire encoding, so another
// implementation can replay a case without this package.

// conformanceDir holds one JSON file per case.
const conformanceDir = "testdata/conformance"

// clockSkew is how far ahead of the local clock a block's slot may start (PROTOCOL.md §7: half a second).
const clockSkew = 500 * time.Millisecond

// vecCase is one conformance case, as stored.
type vecCase struct {
	Name        string                   `json:"name"`
	Description string                   `json:"description"`
	Rules       string                   `json:"rules"`             // the PROTOCOL.md sections it exercises
	Genesis     *chain.Genesis           `json:"genesis"`           // the anchor: PROTOCOL.md §5
	Trusted     string                   `json:"trusted,omitempty"` // EPOCH:HASH, the tree's trusted checkpoint (§12)
	Validators  map[string]chain.Address `json:"validators"`        // name → address, for the checks
	Blocks      map[string]chain.Hash    `json:"blocks"`            // name → hash, for the steps and checks
	Steps       []vecStep                `json:"steps"`
}

// vecStep is one step: exactly one of Tick, Block, Batch or Checks is set.
type vecStep struct {
	// Tick sets the local clock to genesis_time + Tick milliseconds: the slot that may be received (the current
	// slot of now + 0.5 s) and whether a block received now is timely (consensus.Timely).
	Tick *uint64 `json:"tick,omitempty"`
	// Block is received from gossip at the current tick (Tree.InsertTimely); Batch is fetched by sync, in order,
	// as one batch (Tree.InsertBatch, whose blocks count as late). Data holds their encodings in hex.
	Block   string   `json:"block,omitempty"`
	Batch   []string `json:"batch,omitempty"`
	Data    []string `json:"data,omitempty"`
	Summary string   `json:"summary,omitempty"` // what the block holds, for readers
	// Error is the name of the sentinel the insert fails with (errors.Is); empty means it succeeds.
	Error  string     `json:"error,omitempty"`
	Checks *vecChecks `json:"checks,omitempty"`
}

// vecChecks are assertions on the tree after the steps before them; unset fields are not checked.
type vecChecks struct {
	Head      string                `json:"head,omitempty"`      // block name of Tree.Head
	Justified *vecCheckpoint        `json:"justified,omitempty"` // of the head's branch (Tree.Finality)
	Finalized *vecCheckpoint        `json:"finalized,omitempty"`
	Slashed   *[]string             `json:"slashed,omitempty"` // exactly the validators slashed in the head's state
	Accounts  map[string]vecAccount `json:"accounts,omitempty"`
	Table     *vecTable             `json:"table,omitempty"`     // Tree.StakeTable of the head's branch
	Known     []string              `json:"known,omitempty"`     // blocks in the tree (Tree.Has)
	Unknown   []string              `json:"unknown,omitempty"`   // blocks not in the tree
	Final     []string              `json:"final,omitempty"`     // blocks no accepted block can revert (Tree.IsFinal)
	NotFinal  []string              `json:"not_final,omitempty"` // blocks that are not
}

type vecCheckpoint struct {
	Epoch chain.Epoch `json:"epoch"`
	Block string      `json:"block"`
}

// vecAccount is a validator's account in the head's state.
type vecAccount struct {
	Stake     chain.Amount `json:"stake"`
	Unbonding chain.Amount `json:"unbonding"`
	Slashed   bool         `json:"slashed"`
}

// vecTable is the stake table of an epoch: validator name → stake.
type vecTable struct {
	Epoch  chain.Epoch             `json:"epoch"`
	Stakes map[string]chain.Amount `json:"stakes"`
}

// sentinels are the errors a step may expect, by name.
var sentinels = map[string]error{
	"ErrKnownBlock":          chain.ErrKnownBlock,
	"ErrUnknownParent":       chain.ErrUnknownParent,
	"ErrBadHeight":           chain.ErrBadHeight,
	"ErrSlotNotAfterParent":  chain.ErrSlotNotAfterParent,
	"ErrFutureSlot":          chain.ErrFutureSlot,
	"ErrWrongProposer":       chain.ErrWrongProposer,
	"ErrBadSignature":        chain.ErrBadSignature,
	"ErrBadStateRoot":        chain.ErrBadStateRoot,
	"ErrInvalidBlock":        chain.ErrInvalidBlock,
	"ErrInvalidVote":         chain.ErrInvalidVote,
	"ErrInvalidEvidence":     chain.ErrInvalidEvidence,
	"ErrVoteTarget":          chain.ErrVoteTarget,
	"ErrVoteNotValidator":    chain.ErrVoteNotValidator,
	"ErrDuplicateVote":       chain.ErrDuplicateVote,
	"ErrAlreadySlashed":      chain.ErrAlreadySlashed,
	"ErrNothingToSlash":      chain.ErrNothingToSlash,
	"ErrConflictsFinalized":  chain.ErrConflictsFinalized,
	"ErrConflictsCheckpoint": chain.ErrConflictsCheckpoint,
	"ErrTooManyVersions":     chain.ErrTooManyVersions,
}

// TestConformance replays every case of testdata/conformance against a new tree with the real fork choice,
// finality rules and lottery, and checks every checks step. Regenerate the files with
// go test ./consensus -run Conformance -update.
func TestConformance(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(conformanceDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 52 {
		t.Fatalf("%d cases in %s, want at least 52 (generate with -update)", len(paths), conformanceDir)
	}
	steps, checks := 0, 0
	for _, p := range paths {
		c, err := loadCase(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.Name, func(t *testing.T) {
			if err := replay(c); err != nil {
				t.Fatalf("case %s: %v", c.Name, err)
			}
		})
		steps += len(c.Steps)
		for _, s := range c.Steps {
			if s.Checks != nil {
				checks++
			}
		}
	}
	t.Logf("%d cases, %d steps, %d checks steps", len(paths), steps, checks)
}

func loadCase(path string) (*vecCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c vecCase
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if want := strings.TrimSuffix(filepath.Base(path), ".json"); c.Name != want {
		return nil, fmt.Errorf("%s: case named %q", path, c.Name)
	}
	return &c, nil
}

// replayer is one case being replayed.
type replayer struct {
	c    *vecCase
	tree *chain.Tree
	now  time.Time
}

// replay runs c's steps on a fresh tree and returns the first failure, naming its step.
func replay(c *vecCase) error {
	if err := c.Genesis.Validate(); err != nil {
		return err
	}
	cfg := chain.TreeConfig{Genesis: c.Genesis, Store: chain.NewMemStore(), Elect: Leader, Better: Better,
		Finality: FFGRules()}
	if c.Trusted != "" {
		cp, err := chain.ParseCheckpoint(c.Trusted)
		if err != nil {
			return err
		}
		cfg.Trusted = &cp
	}
	tr, err := chain.OpenTree(cfg)
	if err != nil {
		return err
	}
	r := &replayer{c: c, tree: tr, now: c.Genesis.Time}
	for i, s := range c.Steps {
		if err := r.step(s); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}

func (r *replayer) step(s vecStep) error {
	switch {
	case s.Tick != nil:
		r.now = r.c.Genesis.Time.Add(time.Duration(*s.Tick) * time.Millisecond)
		return nil
	case s.Block != "":
		bs, err := r.decode([]string{s.Block}, s.Data)
		if err != nil {
			return err
		}
		g := r.c.Genesis
		timely := Timely(g.Time, time.Duration(g.SlotDuration), bs[0].Header.Slot, r.now)
		_, err = r.tree.InsertTimely(bs[0], r.maxSlot(), timely)
		return expect("block "+s.Block, err, s.Error)
	case len(s.Batch) > 0:
		bs, err := r.decode(s.Batch, s.Data)
		if err != nil {
			return err
		}
		_, _, err = r.tree.InsertBatch(bs, r.maxSlot())
		return expect(fmt.Sprintf("batch %v", s.Batch), err, s.Error)
	case s.Checks != nil:
		return r.check(s.Checks)
	}
	return errors.New("empty step")
}

// maxSlot is the newest slot a block may be of at the current tick (PROTOCOL.md §7).
func (r *replayer) maxSlot() chain.Slot {
	g := r.c.Genesis
	return SlotAt(g.Time, time.Duration(g.SlotDuration), r.now.Add(clockSkew))
}

// decode decodes the blocks' encodings and checks that each has the hash its name stands for.
func (r *replayer) decode(names, data []string) ([]*chain.Block, error) {
	if len(names) != len(data) {
		return nil, fmt.Errorf("%d blocks, %d encodings", len(names), len(data))
	}
	var out []*chain.Block
	for i, name := range names {
		raw, err := hex.DecodeString(data[i])
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		b, err := chain.DecodeBlock(raw)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		if want := r.c.Blocks[name]; b.Hash() != want {
			return nil, fmt.Errorf("block %s: hash %s, the case names %s", name, b.Hash(), want)
		}
		out = append(out, b)
	}
	return out, nil
}

// expect compares an insert's error with the sentinel the step names.
func expect(what string, err error, want string) error {
	if want == "" {
		if err != nil {
			return fmt.Errorf("%s: got %v, want it accepted", what, err)
		}
		return nil
	}
	sentinel, ok := sentinels[want]
	if !ok {
		return fmt.Errorf("%s: unknown sentinel %q", what, want)
	}
	if !errors.Is(err, sentinel) {
		return fmt.Errorf("%s: got %v, want %s", what, err, want)
	}
	return nil
}

// hash resolves a block name; "genesis" is the genesis hash.
func (r *replayer) hash(name string) (chain.Hash, error) {
	if name == "genesis" {
		return r.tree.ChainID(), nil
	}
	h, ok := r.c.Blocks[name]
	if !ok {
		return chain.Hash{}, fmt.Errorf("no block named %q", name)
	}
	return h, nil
}

// name returns the name of block h, or its short hash.
func (r *replayer) name(h chain.Hash) string {
	if h == r.tree.ChainID() {
		return "genesis"
	}
	for n, bh := range r.c.Blocks {
		if bh == h {
			return n
		}
	}
	return h.Short()
}

func (r *replayer) addr(name string) (chain.Address, error) {
	a, ok := r.c.Validators[name]
	if !ok {
		return chain.Address{}, fmt.Errorf("no validator named %q", name)
	}
	return a, nil
}

func (r *replayer) checkpoint(what string, got chain.Checkpoint, want *vecCheckpoint) error {
	h, err := r.hash(want.Block)
	if err != nil {
		return err
	}
	if got.Epoch != want.Epoch || got.Hash != h {
		return fmt.Errorf("%s: got %d/%s, want %d/%s", what, got.Epoch, r.name(got.Hash), want.Epoch, want.Block)
	}
	return nil
}
