package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/slashprot"
)

// The re-exec harness of TestKilledValidatorNeverSignsTwice: the validator runs as a child process of the test
// binary (TestCrashNodeChild) so that it can be killed with SIGKILL, and reports on its stdout what it signs.

// Environment of the child process.
const (
	crashHomeEnv  = "POSNODE_NODE_CRASH_HOME"  // the validator's home, holding genesis.json
	crashShiftEnv = "POSNODE_NODE_CRASH_SHIFT" // how far back its clock is set, as a Go duration
)

// Log lines of the child (JSON on its stderr) that show a refusal to sign: the signing gate's start of a hold by
// the slashing protection record (a signed slot or epoch ahead of the clock, or a refusal), and a vote the record
// refused.
const (
	logRecordHolds = `"msg":"not signing","reason":"slashing-protection"`
	logVoteRefused = `"msg":"not voting: slashing protection refused"`
)

// What made runCrashNode kill the child: its count of blocks or of votes reached the bound.
const (
	crashKillBlocks = "blocks"
	crashKillVotes  = "votes"
)

type ownBlock struct {
	slot chain.Slot
	hash chain.Hash
}

// crashRun is what one life of the child showed: the slot at which it was first ready to propose, the blocks and
// votes it reported signing, which count reached its bound first (crashKillBlocks or crashKillVotes), and how
// often it logged a refusal to sign a slot or a vote.
type crashRun struct {
	ready        chain.Slot
	blocks       []ownBlock
	votes        []chain.Vote
	killedAfter  string
	recordHolds  int
	votesRefused int
}

// crashKill says when runCrashNode kills the child: once it reported wantBlocks blocks or wantVotes votes,
// whichever comes first, plus jitter.
type crashKill struct {
	wantBlocks, wantVotes int
	jitter                time.Duration
}

// startChild runs the test binary's test function child in a new process with env added to this one's, and
// returns it with a scanner of its standard output and the buffer that collects its standard error.
func startChild(t *testing.T, child string, env ...string) (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out), stderr
}

// runCrashNode starts the child on home with its clock shift back, waits until kill's bound, and kills it.
func runCrashNode(t *testing.T, home string, shift time.Duration, kill crashKill) crashRun {
	t.Helper()
	cmd, sc, stderr := startChild(t, "TestCrashNodeChild", crashHomeEnv+"="+home, crashShiftEnv+"="+shift.String())
	var r crashRun
	for r.killedAfter == "" {
		if !sc.Scan() {
			err := cmd.Wait()
			t.Fatalf("node ended after %d proposals and %d votes: %v\n%s", len(r.blocks), len(r.votes), err, stderr.Bytes())
		}
		r.read(t, sc.Text())
		switch {
		case len(r.blocks) >= kill.wantBlocks:
			r.killedAfter = crashKillBlocks
		case len(r.votes) >= kill.wantVotes:
			r.killedAfter = crashKillVotes
		}
	}
	time.Sleep(kill.jitter)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		r.read(t, sc.Text())
	}
	cmd.Wait()
	for line := range strings.Lines(stderr.String()) {
		if strings.Contains(line, logRecordHolds) {
			r.recordHolds++
		}
		if strings.Contains(line, logVoteRefused) {
			r.votesRefused++
		}
	}
	return r
}

// read takes one line of the child's output: "ready <slot>", "proposed <slot> <hash>" or "voted <vote hex>".
func (r *crashRun) read(t *testing.T, line string) {
	var s uint64
	var h string
	if n, _ := fmt.Sscanf(line, "ready %d", &s); n == 1 {
		r.ready = chain.Slot(s)
		return
	}
	if n, _ := fmt.Sscanf(line, "voted %s", &h); n == 1 {
		b, err := hex.DecodeString(h)
		v, derr := chain.DecodeVote(b)
		if err = errors.Join(err, derr); err != nil {
			t.Fatalf("child said %q: %v", line, err)
		}
		r.votes = append(r.votes, v)
		return
	}
	if n, _ := fmt.Sscanf(line, "proposed %d %s", &s, &h); n != 2 {
		return // the test framework's own lines
	}
	hash, err := chain.ParseHash(h)
	if err != nil {
		t.Fatalf("child said %q: %v", line, err)
	}
	r.blocks = append(r.blocks, ownBlock{chain.Slot(s), hash})
}

// ownStored returns self's blocks in home's chain.db, and the votes of self that any stored block carries; none
// when there is no chain.db.
func ownStored(t *testing.T, home string, self chain.Address) ([]ownBlock, []chain.Vote) {
	t.Helper()
	path := filepath.Join(home, "chain.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	s, err := chain.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var blocks []ownBlock
	var votes []chain.Vote
	err = s.ForEach(func(b *chain.Block) error {
		if b.Header.Proposer == self {
			blocks = append(blocks, ownBlock{b.Header.Slot, b.Hash()})
		}
		for _, v := range b.Votes {
			if v.Validator == self {
				votes = append(votes, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return blocks, votes
}

// protectedSpan is a vote as the slashing protection record exports it: its epochs, and its signing root when
// known (a watermark has none).
type protectedSpan struct {
	source, target chain.Epoch
	root           chain.Hash
}

// protectionRecord reads home's slashing protection record through its EIP-3076 export: the latest block of
// self (ok false when none) and its latest vote or vote watermark (nil when none).
func protectionRecord(t *testing.T, home string, genesis chain.Hash, self chain.Address) (blk ownBlock, ok bool, vote *protectedSpan) {
	t.Helper()
	db, err := slashprot.Open(filepath.Join(home, slashprot.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = db.Export(&buf, genesis)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		Data []struct {
			Pubkey string `json:"pubkey"`
			Blocks []struct {
				Slot string `json:"slot"`
				Root string `json:"signing_root"`
			} `json:"signed_blocks"`
			Votes []struct {
				Source string `json:"source_epoch"`
				Target string `json:"target_epoch"`
				Root   string `json:"signing_root"`
			} `json:"signed_attestations"`
		} `json:"data"`
	}
	if err := json.Unmarshal(buf.Bytes(), &x); err != nil {
		t.Fatalf("export of the protection record: %v", err)
	}
	for _, k := range x.Data {
		if k.Pubkey != "0x"+hex.EncodeToString(self[:]) {
			continue
		}
		for _, b := range k.Blocks {
			blk, ok = ownBlock{chain.Slot(mustDecimal(t, b.Slot)), mustRoot(t, b.Root)}, true
		}
		for _, v := range k.Votes {
			vote = &protectedSpan{chain.Epoch(mustDecimal(t, v.Source)), chain.Epoch(mustDecimal(t, v.Target)), mustRoot(t, v.Root)}
		}
	}
	return blk, ok, vote
}

func mustDecimal(t *testing.T, s string) uint64 {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("export: %q: %v", s, err)
	}
	return v
}

// mustRoot parses an exported "0x…" signing root; "" (unknown) is the zero hash.
func mustRoot(t *testing.T, s string) chain.Hash {
	if s == "" {
		return chain.Hash{}
	}
	h, err := chain.ParseHash(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatalf("export: root %q: %v", s, err)
	}
	return h
}

// TestCrashNodeChild is the validator process of TestKilledValidatorNeverSignsTwice; run directly, it skips. It
// prints "ready <slot>" once it is ready to propose, "proposed <slot> <hash>" for each block it proposes, when the
// block is stored and before it is published, and "voted <hex encoding>" for each checkpoint vote it signs,
// before it is published; it logs to stderr, and runs until killed.
func TestCrashNodeChild(t *testing.T) {
	home := os.Getenv(crashHomeEnv)
	if home == "" {
		t.Skip("the validator process of TestKilledValidatorNeverSignsTwice")
	}
	g, err := chain.LoadGenesis(filepath.Join(home, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	shift, err := time.ParseDuration(os.Getenv(crashShiftEnv))
	if err != nil {
		t.Fatal(err)
	}
	log, err := zap.NewProduction() // JSON lines on stderr
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Home: home, Genesis: g, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: log,
		Now: func() time.Time { return time.Now().Add(-shift) },
		OnBlock: func(b *chain.Block, local bool) {
			if local {
				os.Stdout.WriteString("proposed " + strconv.FormatUint(uint64(b.Header.Slot), 10) + " " + b.Hash().String() + "\n")
			}
		},
		OnVote: func(v chain.Vote) { os.Stdout.WriteString("voted " + hex.EncodeToString(v.Encode()) + "\n") },
	})
	if err != nil {
		t.Fatal(err)
	}
	go reportReady(n)
	if err := n.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// reportReady prints the slot at which n is first ready to propose. The process ends by SIGKILL, which also
// ends this goroutine.
func reportReady(n *Node) {
	<-n.Started()
	for {
		if st, err := n.Status(context.Background()); err == nil && readyToPropose(n) {
			os.Stdout.WriteString("ready " + strconv.FormatUint(st.Slot, 10) + "\n")
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
