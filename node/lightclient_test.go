package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/client"
	"github.com/posnode/posnode/light"
	"github.com/posnode/posnode/p2p"
)

// TestLightClientRecordsFinal: over real libp2p, a client with a fresh key, funded by a transfer, submits 100
// records through the nodes it is connected to (PROTOCOL.md §14); each is proven committed, then final, the
// client following finality from genesis by verified updates. Its state file stays under 1 MB; the bytes it
// downloaded per epoch followed are printed.
func TestLightClientRecordsFinal(t *testing.T) {
	c := newCluster(t, []uint64{10, 20, 30, 40}, 300*time.Millisecond, 2*time.Second)
	c.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	seed := sha256.Sum256([]byte("light client user"))
	key := ed25519.NewKeyFromSeed(seed[:])
	addr := chain.AddressOf(key.Public().(ed25519.PublicKey))
	host, err := p2p.New(ctx, p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Namespace: c.gen.Hash().String(), NoPeerExchange: true})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	var peers []string
	for _, i := range []int{1, 2} {
		if err := host.Connect(ctx, c.nodes[i].Addrs()[0]); err != nil {
			t.Fatal(err)
		}
		peers = append(peers, chain.AddressOf(c.keys[i].Public().(ed25519.PublicKey)).String())
	}
	state := filepath.Join(t.TempDir(), "client.json")
	cl, err := client.Load(client.Config{Genesis: c.gen, Wallet: client.New(key, c.gen.Hash(), c.gen.TxFee), Net: host,
		Peers: peers, StatePath: state, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := c.nodes[0].SubmitOwn(ctx, chain.TxTransfer, addr, 10_000); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the funding transfer", func() bool {
		acc, err := c.nodes[1].Account(ctx, addr)
		return err == nil && acc.Balance > 0
	})
	const records = 100
	for i := range records {
		if _, err := cl.Submit(ctx, chain.TxBPM, chain.Address{}, uint64(60+i%40)); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	committed := map[chain.Hash]chain.Height{}
	deadline := time.Now().Add(2 * time.Minute)
	for done := false; !done; time.Sleep(300 * time.Millisecond) { // a slot between polls, as a client would
		if time.Now().After(deadline) {
			t.Fatal("timed out after 2m waiting for 100 records final")
		}
		if _, err := cl.Sync(ctx); err != nil {
			t.Logf("sync: %v", err)
		}
		events, err := cl.Track(ctx)
		if err != nil {
			t.Logf("track: %v", err)
		}
		for _, ev := range events {
			switch ev.Kind {
			case client.StatusCommitted:
				committed[ev.Record.ID] = ev.Record.Height
			case client.StatusFinal:
				if _, ok := committed[ev.Record.ID]; !ok {
					t.Errorf("record %s final without a checked inclusion proof", ev.Record.ID.Short())
				}
			}
		}
		_, final := cl.Records()
		done = len(final) == records
	}
	_, final := cl.Records()
	for _, r := range final {
		if r.Status != client.StatusFinal || r.Height == 0 || r.Height > cl.Trust().Finalized.Height {
			t.Errorf("record %s: status %s at height %d, finalized height %d", r.ID.Short(), r.Status, r.Height,
				cl.Trust().Finalized.Height)
		}
	}
	if liars := cl.Liars(); len(liars) > 0 {
		t.Errorf("honest nodes taken for liars: %v", liars)
	}
	fi, err := os.Stat(state)
	if err != nil || fi.Size() >= 1<<20 {
		t.Fatalf("state file: %v, %d bytes, want under 1 MB", err, fi.Size())
	}
	printBytes(t, cl, fi.Size())
	checkHistory(ctx, t, cl, final) // after the figures: its answers are not part of following finality
}

// checkHistory: the client's history, fetched by light-records over libp2p and checked, lists each of the final
// records at the height it was proven at, final, newest first.
func checkHistory(ctx context.Context, t *testing.T, cl *client.Client, final []client.Record) {
	var got []client.HistoryRecord
	var before chain.Height
	var below chain.Nonce
	for page := 0; page == 0 || before != 0; page++ {
		recs, next, err := cl.History(ctx, before, below, light.MaxRecords)
		if err != nil {
			t.Fatalf("history page %d: %v", page, err)
		}
		if len(recs) > 0 {
			below = recs[len(recs)-1].Nonce
		}
		got, before = append(got, recs...), next
	}
	if len(got) != len(final) {
		t.Fatalf("history lists %d records, want %d", len(got), len(final))
	}
	for i, h := range got {
		r := final[len(final)-1-i]
		if h.ID != r.ID || h.Height != r.Height || h.BPM != r.Value || !h.Final {
			t.Errorf("history record %d: %+v, want %s bpm %d final at height %d", i, h, r.ID.Short(), r.Value, r.Height)
		}
	}
	fmt.Printf("light client history: %d records, each signed by the account and proven in its block\n", len(got))
}

// printBytes prints the bytes the client downloaded per epoch it followed, and its state file's size.
func printBytes(t *testing.T, cl *client.Client, stateSize int64) {
	per := cl.BytesPerEpoch()
	epochs := make([]chain.Epoch, 0, len(per))
	for e := range per {
		epochs = append(epochs, e)
	}
	slices.Sort(epochs)
	total := 0
	for _, e := range epochs {
		fmt.Printf("light client, 4 validators: epoch %d: updates %d bytes, proofs and submissions %d bytes\n", e,
			per[e].Updates, per[e].Proofs)
		total += per[e].Updates + per[e].Proofs
	}
	tr := cl.Trust()
	fmt.Printf("light client: %d bytes over %d epochs; justified %s, finalized %s; state file %d bytes\n", total,
		len(epochs), tr.Justified.Checkpoint, tr.Finalized.Checkpoint, stateSize)
}
