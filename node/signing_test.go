package node

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/slashprot"
)

// Scenario 7 of issue 18: after an interchange import with a far-future slot, a validator logged "slot won but not
// proposing" for every slot it won while /api/status said "signing: active". Every reason a validator will not
// sign goes through one place (signing.go, node/signgate), which /api/status, the prompt, the
// posnode_signing_blocked metric and the log read: here the slashing protection record, ahead of the clock,
// shows in the status's signing field and in the metric, while the slots the validator wins stay empty.
func TestValidatorThatCannotSignSaysWhy(t *testing.T) {
	slot := 200 * time.Millisecond
	c := newCluster(t, []uint64{10, 10}, slot, 1500*time.Millisecond)
	c.startAll()
	waitFor(t, 30*time.Second, "height 3", func() bool { return c.minHeight(0, 1) >= 3 })
	c.stop(1)
	far := c.status(0).Slot + 100_000
	genesis, key := c.gen.Hash(), c.gen.Allocations[1].Address
	importInterchange(t, filepath.Join(c.homes[1], slashprot.FileName), genesis, fmt.Sprintf(`{"metadata":
		{"interchange_format_version": "5", "genesis_validators_root": "0x%s"}, "data": [{"pubkey": "0x%s",
		"signed_blocks": [{"slot": "%d"}], "signed_attestations": [{"source_epoch": "%d", "target_epoch": "%d"}]}]}`,
		hex.EncodeToString(genesis[:]), hex.EncodeToString(key[:]), far, far/c.gen.EpochLength, far/c.gen.EpochLength))
	n := c.start(1, 0)

	var st map[string]any
	waitFor(t, 10*time.Second, "node 1's status to say why it does not sign", func() bool {
		st = getJSON(t, n, "/api/status")
		return strings.Contains(fmt.Sprint(st["signing"]), "slashing protection")
	})
	from := c.status(0).Height
	waitFor(t, 30*time.Second, "six more blocks", func() bool { return c.status(0).Height >= from+6 })
	st = getJSON(t, n, "/api/status")
	_, won := signedSlots(n)
	var missed float64
	for _, line := range strings.Split(getText(t, n, "/metrics"), "\n") {
		if strings.HasPrefix(line, "posnode_slots_missed_total ") {
			fmt.Sscan(strings.TrimPrefix(line, "posnode_slots_missed_total "), &missed)
		}
	}
	metric := metricLine(getText(t, n, "/metrics"), `posnode_signing_blocked{reason="slashing-protection"}`)
	t.Logf("record ahead of the clock (slot %d): node 1 signing %q, signing_blocked %v; %s; %v slots won and "+
		"left empty, %v signed", far, st["signing"], st["signing_blocked"], metric, missed, won)
	signing := fmt.Sprint(st["signing"])
	if !strings.Contains(signing, "slashing protection") || !strings.Contains(signing, fmt.Sprint(far)) {
		t.Errorf("status signing %q: want the slashing protection record and its slot %d", signing, far)
	}
	if blocked := fmt.Sprint(st["signing_blocked"]); !strings.Contains(blocked, "slashing-protection") {
		t.Errorf("status signing_blocked %s: want slashing-protection", blocked)
	}
	if metric != `posnode_signing_blocked{reason="slashing-protection"} 1` {
		t.Errorf("metric: got %q, want it at 1", metric)
	}
	if won != 0 || missed == 0 {
		t.Errorf("node 1 signed %v blocks and left %v won slots empty: want none signed, some won", won, missed)
	}
}

// importInterchange imports an EIP-3076 interchange file of the network of genesis hash genesis, given as JSON,
// into the record at path.
func importInterchange(t *testing.T, path string, genesis chain.Hash, data string) {
	t.Helper()
	db, err := slashprot.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Import(strings.NewReader(data), genesis); err != nil {
		t.Fatal(err)
	}
}

// getText returns the body of GET path on n's API.
func getText(t *testing.T, n *Node, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + n.HTTPAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return string(b)
}

// getJSON decodes the body of GET path on n's API as a JSON object.
func getJSON(t *testing.T, n *Node, path string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(getText(t, n, path)), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// metricLine returns the line of a Prometheus text exposition that starts with series, or "".
func metricLine(text, series string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, series+" ") {
			return line
		}
	}
	return ""
}

// Issue 22, defect E: a node with no stake printed "!!! not signing blocks and votes: syncing…" and "…waiting
// for the doppelganger check…", and status said so. With nothing to sign it is "not a validator" in
// /api/status, with no reason in signing_blocked, none in the metric, none logged above DEBUG; the validator
// beside it, in its doppelganger wait, still says so.
func TestNodeWithoutStakeIsNotAValidator(t *testing.T) {
	c := newCluster(t, []uint64{10, 0}, 200*time.Millisecond, -time.Minute)
	c.run(0, Config{Home: c.homes[0], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		HTTP: "127.0.0.1:0", Logger: zaptest.NewLogger(t).Named("node0"), wsEpochs: clusterWSEpochs, DoppelgangerSlots: 40})
	obs := observedLogger(t, 1)
	c.run(1, Config{Home: c.homes[1], Genesis: c.gen, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: c.nodes[0].Addrs()[:1], HTTP: "127.0.0.1:0", Logger: obs.logger, wsEpochs: clusterWSEpochs,
		DoppelgangerSlots: 40})
	c.status(1) // refreshes the gate
	st := getJSON(t, c.nodes[1], "/api/status")
	metrics := getText(t, c.nodes[1], "/metrics")
	got := []string{fmt.Sprint(st["signing"]), fmt.Sprint(st["signing_blocked"]), metricLine(metrics, "posnode_validator"),
		metricLine(metrics, `posnode_signing_blocked{reason="doppelganger-wait"}`)}
	want := []string{"not a validator", "[]", "posnode_validator 0", `posnode_signing_blocked{reason="doppelganger-wait"} 0`}
	if !slices.Equal(got, want) {
		t.Errorf("node without stake: got %q, want %q", got, want)
	}
	if n := obs.logs.FilterMessage("not signing").FilterLevelExact(zapcore.InfoLevel).Len() +
		obs.logs.FilterMessage("not signing").FilterLevelExact(zapcore.WarnLevel).Len(); n != 0 {
		t.Errorf("node without stake logged %d \"not signing\" lines above DEBUG:\n%s", n, obs.all())
	}
	if vs := c.status(0); !strings.HasPrefix(vs.Signing, "waiting for the doppelganger check until slot") ||
		vs.DoppelgangerWaitUntil == 0 {
		t.Errorf("the validator in its wait: signing %q, doppelganger_wait_until %d", vs.Signing, vs.DoppelgangerWaitUntil)
	}
}
