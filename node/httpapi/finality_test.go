package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// A lone validator finalizes its own checkpoints (PROTOCOL.md §8a): the status, GET /api/finality and a record's
// status show it, GET /api/evidence is an empty list, and the finality series are in /metrics.
func TestAPIFinality(t *testing.T) {
	n := startNode(t)
	var posted struct{ ID chain.Hash }
	if code := n.post(t, "/api/bpm", `{"bpm": 64}`, &posted); code != 200 {
		t.Fatalf("POST /api/bpm: %d", code)
	}
	var tx view.TxStatus
	waitFor(t, 60*time.Second, "the record to be finalized", func() bool {
		return n.get(t, "/api/txs/"+posted.ID.String(), &tx) == 200 && tx.Status == "finalized"
	})
	var f view.Finality
	if code := n.get(t, "/api/finality", &f); code != 200 {
		t.Fatalf("GET /api/finality: %d", code)
	}
	if f.Finalized.Epoch == 0 || f.Justified.Epoch <= f.Finalized.Epoch || f.FinalizedHeight < tx.Height ||
		f.Epoch < uint64(f.Justified.Epoch) || f.LagSlots < f.Slot-uint64(f.Finalized.Epoch)*8 {
		t.Errorf("GET /api/finality: %+v, record at height %d", f, tx.Height)
	}
	var st view.Status
	if code := n.get(t, "/api/status", &st); code != 200 || st.Finalized.Epoch < f.Finalized.Epoch || st.Justified.Hash.IsZero() {
		t.Errorf("GET /api/status: %d, justified %s finalized %s; want at least %s", code, st.Justified, st.Finalized, f.Finalized)
	}
	var evs []view.Evidence
	if code := n.get(t, "/api/evidence", &evs); code != 200 || evs == nil || len(evs) != 0 {
		t.Errorf("GET /api/evidence: %d %v, want 200 and an empty list", code, evs)
	}
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"posnode_justified_epoch", "posnode_finalized_epoch", "posnode_finality_lag_slots",
		"posnode_slashings_total", "posnode_votes_signed_total"} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
