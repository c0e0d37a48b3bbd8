package slashprot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
)

var testGenesis = chain.HashBytes([]byte("genesis"))

// probe is one signing attempt, to compare what two records allow.
type probe struct {
	addr  chain.Address
	block bool
	a, b  uint64 // slot, or source and target
	root  chain.Hash
}

// refusals answers each probe on its own copy of db's file, so that no probe sees another's record.
func refusals(t *testing.T, db *DB, probes []probe) []bool {
	t.Helper()
	data, err := os.ReadFile(db.path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]bool, len(probes))
	for i, p := range probes {
		path := filepath.Join(t.TempDir(), FileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		scratch, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if p.block {
			out[i] = scratch.CheckAndRecordBlock(p.addr, chain.Slot(p.a), p.root) != nil
		} else {
			out[i] = scratch.CheckAndRecordVote(p.addr, chain.Epoch(p.a), chain.Epoch(p.b), p.root) != nil
		}
		scratch.Close()
	}
	return out
}

// Export then Import into an empty record refuses every attempt the original refuses, for two keys.
func TestExportImportRoundTrip(t *testing.T) {
	src := openTemp(t)
	a, b := key(1), key(2)
	mustBlock(t, src, a, 10, root("a10"))
	mustBlock(t, src, a, 12, root("a12"))
	mustVote(t, src, a, 3, 4, root("a4"))
	mustVote(t, src, a, 4, 6, root("a6"))
	mustBlock(t, src, b, 3, root("b3"))
	var buf bytes.Buffer
	if err := src.Export(&buf, testGenesis); err != nil {
		t.Fatal(err)
	}
	checkInterchangeShape(t, buf.Bytes())
	dst := openTemp(t)
	if err := dst.Import(bytes.NewReader(buf.Bytes()), testGenesis); err != nil {
		t.Fatal(err)
	}
	var probes []probe
	for _, k := range []chain.Address{a, b, key(3)} {
		for s := uint64(0); s <= 14; s++ {
			probes = append(probes, probe{addr: k, block: true, a: s, root: root("new")})
		}
		probes = append(probes, probe{addr: k, block: true, a: 12, root: root("a12")}, probe{addr: k, block: true, a: 3, root: root("b3")})
		for s := uint64(0); s <= 8; s++ {
			for tg := s; tg <= 8; tg++ {
				probes = append(probes, probe{addr: k, a: s, b: tg, root: root("new")})
			}
		}
		probes = append(probes, probe{addr: k, a: 4, b: 6, root: root("a6")})
	}
	want := refusals(t, src, probes)
	got := refusals(t, dst, probes)
	refused := 0
	for i, p := range probes {
		if got[i] != want[i] {
			t.Errorf("probe %+v: refused %t after the round trip, %t before", p, got[i], want[i])
		}
		if want[i] {
			refused++
		}
	}
	if refused == 0 || refused == len(probes) {
		t.Fatalf("%d of %d probes refused: the probes tell nothing apart", refused, len(probes))
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"double block at 12", dst.CheckAndRecordBlock(a, 12, root("x"))},
		{"block at 11", dst.CheckAndRecordBlock(a, 11, root("x"))},
		{"double vote at 6", dst.CheckAndRecordVote(a, 4, 6, root("x"))},
		{"surrounding 4→6", dst.CheckAndRecordVote(a, 3, 7, root("x"))},
	} {
		if tc.err == nil {
			t.Errorf("%s after import: allowed", tc.name)
		}
	}
	if err := dst.CheckAndRecordBlock(a, 12, root("a12")); err != nil {
		t.Errorf("re-sign of the imported latest block: %v", err)
	}
}

// checkInterchangeShape checks the exported JSON against EIP-3076's field names and string numbers.
func checkInterchangeShape(t *testing.T, data []byte) {
	t.Helper()
	var x map[string]any
	if err := json.Unmarshal(data, &x); err != nil {
		t.Fatal(err)
	}
	meta := x["metadata"].(map[string]any)
	if meta["interchange_format_version"] != "5" || meta["genesis_validators_root"] != hex0x(testGenesis[:]) {
		t.Errorf("metadata: got %v", meta)
	}
	fields := 0
	for _, e := range x["data"].([]any) {
		entry := e.(map[string]any)
		if pk, _ := entry["pubkey"].(string); len(pk) != 66 || !strings.HasPrefix(pk, "0x") {
			t.Errorf("pubkey: got %v, want 0x and 64 hex digits", entry["pubkey"])
		}
		for list, names := range map[string][]string{"signed_blocks": {"slot", "signing_root"},
			"signed_attestations": {"source_epoch", "target_epoch", "signing_root"}} {
			for _, item := range entry[list].([]any) {
				for _, f := range names {
					if _, ok := item.(map[string]any)[f].(string); !ok {
						t.Errorf("%s.%s: got %T, want a string", list, f, item.(map[string]any)[f])
					}
					fields++
				}
			}
		}
	}
	if fields < 5 {
		t.Errorf("export holds %d fields, want a block and a vote at least", fields)
	}
}

// A file of another network is refused and records nothing.
func TestImportForeignGenesisRefused(t *testing.T) {
	src := openTemp(t)
	mustBlock(t, src, key(1), 10, root("x"))
	var buf bytes.Buffer
	if err := src.Export(&buf, chain.HashBytes([]byte("other network"))); err != nil {
		t.Fatal(err)
	}
	dst := openTemp(t)
	err := dst.Import(&buf, testGenesis)
	if !errors.Is(err, ErrWrongGenesis) {
		t.Fatalf("got %v, want ErrWrongGenesis", err)
	}
	if _, ok := dst.LatestBlock(key(1)); ok || dst.records != 0 {
		t.Errorf("a refused import recorded %d records", dst.records)
	}
}

// Import keeps the maxima: lower values leave the record as it was, higher ones raise it, and a different root
// at the same latest slot leaves that slot's root unknown.
func TestImportNeverLowers(t *testing.T) {
	db := openTemp(t)
	a := key(1)
	mustBlock(t, db, a, 20, root("b20"))
	mustVote(t, db, a, 5, 6, root("v6"))
	imp := func(blocks, votes string) {
		t.Helper()
		doc := fmt.Sprintf(`{"metadata":{"interchange_format_version":"5","genesis_validators_root":"%s"},
			"data":[{"pubkey":"%s","signed_blocks":[%s],"signed_attestations":[%s]}]}`, hex0x(testGenesis[:]), hex0x(a[:]), blocks, votes)
		if err := db.Import(strings.NewReader(doc), testGenesis); err != nil {
			t.Fatal(err)
		}
	}
	imp(`{"slot":"3"}`, `{"source_epoch":"1","target_epoch":"2"}`)
	if s, _ := db.LatestBlock(a); s != 20 {
		t.Errorf("latest block after importing a lower one: got %d, want 20", s)
	}
	if err := db.CheckAndRecordBlock(a, 20, root("b20")); err != nil {
		t.Errorf("re-sign after a lower import: %v", err)
	}
	if err := db.CheckAndRecordVote(a, 5, 6, root("v6")); err != nil {
		t.Errorf("repeat vote after a lower import: %v", err)
	}
	other := root("other")
	imp(fmt.Sprintf(`{"slot":"20","signing_root":"%s"}`, hex0x(other[:])), `{"source_epoch":"7","target_epoch":"9"}`)
	if err := db.CheckAndRecordBlock(a, 20, root("b20")); !errors.Is(err, ErrDoubleBlock) {
		t.Errorf("re-sign after a conflicting import at the same slot: got %v, want ErrDoubleBlock", err)
	}
	if err := db.CheckAndRecordVote(a, 6, 8, root("x")); !errors.Is(err, ErrVoteBelowWatermark) {
		t.Errorf("source below the imported source: got %v, want ErrVoteBelowWatermark", err)
	}
	if err := db.CheckAndRecordVote(a, 7, 9, root("x")); !errors.Is(err, ErrDoubleVote) {
		t.Errorf("vote at the imported target: got %v, want ErrDoubleVote", err)
	}
	if err := db.CheckAndRecordVote(a, 7, 10, root("x")); err != nil {
		t.Errorf("next vote after the import: %v", err)
	}
}

// Every malformed file is refused with ErrInterchange, before anything is recorded.
func TestImportRejectsMalformed(t *testing.T) {
	g, pk := hex0x(testGenesis[:]), hex0x(addrBytes(key(1)))
	doc := func(version, data string) string {
		return fmt.Sprintf(`{"metadata":{"interchange_format_version":%q,"genesis_validators_root":%q},"data":%s}`, version, g, data)
	}
	entry := func(blocks, votes string) string {
		return fmt.Sprintf(`[{"pubkey":%q,"signed_blocks":%s,"signed_attestations":%s}]`, pk, blocks, votes)
	}
	cases := map[string]string{
		"not json":            `slashing`,
		"trailing data":       doc("5", "[]") + `{}`,
		"version 4":           doc("4", "[]"),
		"version as number":   `{"metadata":{"interchange_format_version":5,"genesis_validators_root":"` + g + `"},"data":[]}`,
		"no data":             `{"metadata":{"interchange_format_version":"5","genesis_validators_root":"` + g + `"}}`,
		"genesis without 0x":  strings.Replace(doc("5", "[]"), g, g[2:], 1),
		"short genesis":       strings.Replace(doc("5", "[]"), g, g[:40], 1),
		"pubkey of 48 bytes":  doc("5", strings.Replace(entry("[]", "[]"), pk, pk+strings.Repeat("ab", 16), 1)),
		"pubkey not hex":      doc("5", strings.Replace(entry("[]", "[]"), pk, "0x"+strings.Repeat("zz", 32), 1)),
		"no signed_blocks":    doc("5", fmt.Sprintf(`[{"pubkey":%q,"signed_attestations":[]}]`, pk)),
		"null attestations":   doc("5", entry("[]", "null")),
		"slot as number":      doc("5", entry(`[{"slot":5}]`, "[]")),
		"slot missing":        doc("5", entry(`[{"signing_root":"`+g+`"}]`, "[]")),
		"slot negative":       doc("5", entry(`[{"slot":"-1"}]`, "[]")),
		"slot overflow":       doc("5", entry(`[{"slot":"18446744073709551616"}]`, "[]")),
		"root short":          doc("5", entry(`[{"slot":"5","signing_root":"0x1234"}]`, "[]")),
		"source after target": doc("5", entry("[]", `[{"source_epoch":"5","target_epoch":"4"}]`)),
		"target missing":      doc("5", entry("[]", `[{"source_epoch":"5"}]`)),
		"epoch hex":           doc("5", entry("[]", `[{"source_epoch":"0x5","target_epoch":"6"}]`)),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			db := openTemp(t)
			err := db.Import(strings.NewReader(in), testGenesis)
			if !errors.Is(err, ErrInterchange) {
				t.Fatalf("got %v, want ErrInterchange", err)
			}
			if db.records != 0 {
				t.Errorf("a refused import recorded %d records", db.records)
			}
		})
	}
}

// The EIP's own example, with 32-byte keys, imports, and its rules then hold: no block at or below slot 81952
// but the one of its root, no vote with a source below 2290 or a target at or below 3008.
func TestImportEIPExample(t *testing.T) {
	pk := hex0x(addrBytes(key(7)))
	doc := `{"metadata":{"interchange_format_version":"5","genesis_validators_root":"` + hex0x(testGenesis[:]) + `"},
	"data":[{"pubkey":"` + pk + `",
	  "signed_blocks":[{"slot":"81952","signing_root":"0x4ff6f743a43f3b4f95350831aeaf0a122a1a392922c45d804280284a69eb850b"},{"slot":"81951"}],
	  "signed_attestations":[{"source_epoch":"2290","target_epoch":"3007","signing_root":"0x587d6a4f59a58fe24f406e0502413e77fe1babddee641fda30034ed37ecc884d"},
	                         {"source_epoch":"2290","target_epoch":"3008"}]}]}`
	db := openTemp(t)
	if err := db.Import(strings.NewReader(doc), testGenesis); err != nil {
		t.Fatal(err)
	}
	a := key(7)
	r, _ := parseHash0x("0x4ff6f743a43f3b4f95350831aeaf0a122a1a392922c45d804280284a69eb850b")
	if err := db.CheckAndRecordBlock(a, 81952, r); err != nil {
		t.Errorf("repeat of the imported block: %v", err)
	}
	if err := db.CheckAndRecordBlock(a, 81951, root("x")); err == nil {
		t.Error("block at 81951 allowed")
	}
	if err := db.CheckAndRecordVote(a, 2289, 3009, root("x")); err == nil {
		t.Error("vote with source 2289 allowed")
	}
	if err := db.CheckAndRecordVote(a, 2290, 3008, root("x")); err == nil {
		t.Error("vote at target 3008 allowed")
	}
	if err := db.CheckAndRecordVote(a, 2290, 3009, root("x")); err != nil {
		t.Errorf("next vote: %v", err)
	}
}

func addrBytes(a chain.Address) []byte { return a[:] }
