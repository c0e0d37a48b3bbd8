package chain

import (
	"bytes"
	"reflect"
	"testing"
)

// finLog is a MemStore that records the snapshot and the anchors of every finalization it writes.
type finLog struct {
	*MemStore
	snaps   [][]byte
	anchors [][]AnchorRecord
}

func (s *finLog) Finalize(f *Finalization) error {
	s.snaps, s.anchors = append(s.snaps, f.Snapshot), append(s.anchors, f.Anchors)
	return s.MemStore.Finalize(f)
}

// riseRun inserts blocks into a tree on a new finLog, RetainEpochs retain, and returns the log.
func riseRun(t *testing.T, g *Genesis, blocks []*Block, retain uint64) *finLog {
	t.Helper()
	s := &finLog{MemStore: NewMemStore()}
	insertAll(t, TreeConfig{Genesis: g, Store: s, Elect: treeElect, Better: treeBetter, Finality: testFinality,
		RetainEpochs: retain}, blocks)
	return s
}

// TestSharedRiseEncodings: trees under one StateMemo write, at every rise of their floor, the anchors a tree
// without it writes, byte for byte, and snapshots that decode to its records; two trees with the same records
// share one encoding of each, and a tree whose records differ (a retention window, so another oldest height)
// writes its own.
func TestSharedRiseEncodings(t *testing.T) {
	g := richGenesis()
	blocks := insertableChain(t, g, 8*int(g.EpochLength))
	ref, refShort := riseRun(t, g, blocks, 0), riseRun(t, g, blocks, 3)

	defer ShareStates()()
	a, short, b := riseRun(t, g, blocks, 0), riseRun(t, g, blocks, 3), riseRun(t, g, blocks, 0)
	if len(ref.snaps) < 4 {
		t.Fatalf("%d finalizations written, want at least 4", len(ref.snaps))
	}
	for _, c := range []struct {
		name     string
		got, ref *finLog
	}{{"a", a, ref}, {"b", b, ref}, {"short", short, refShort}} {
		if len(c.got.snaps) != len(c.ref.snaps) {
			t.Fatalf("%s: %d finalizations, want %d", c.name, len(c.got.snaps), len(c.ref.snaps))
		}
		for i := range c.ref.snaps {
			got, want := decodeRise(t, c.got.snaps[i]), decodeRise(t, c.ref.snaps[i])
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: finalization %d: the snapshot decodes to another record than the one of a tree alone", c.name, i)
			}
			if len(c.got.anchors[i]) != len(c.ref.anchors[i]) {
				t.Fatalf("%s: finalization %d: %d anchors, want %d", c.name, i, len(c.got.anchors[i]), len(c.ref.anchors[i]))
			}
			for j, r := range c.ref.anchors[i] {
				if g := c.got.anchors[i][j]; g.Hash != r.Hash || g.Epoch != r.Epoch || !bytes.Equal(g.Enc, r.Enc) {
					t.Errorf("%s: finalization %d: anchor %d differs from the one of a tree alone", c.name, i, j)
				}
			}
		}
	}
	for i := range a.snaps {
		if &a.snaps[i][0] != &b.snaps[i][0] || &a.anchors[i][0].Enc[0] != &b.anchors[i][0].Enc[0] {
			t.Errorf("finalization %d: two trees with the same records do not share their encodings", i)
		}
	}
	differ := 0
	for i := range short.snaps {
		if !reflect.DeepEqual(decodeRise(t, short.snaps[i]), decodeRise(t, a.snaps[i])) {
			differ++
			if &short.snaps[i][0] == &a.snaps[i][0] {
				t.Errorf("finalization %d: a tree with another record was given the shared snapshot", i)
			}
		}
	}
	if differ == 0 {
		t.Error("the retention window changed no snapshot: the test checks nothing of a record that differs")
	}
}

func decodeRise(t *testing.T, enc []byte) snapshotRecord {
	t.Helper()
	r, err := decodeSnapshot(enc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
