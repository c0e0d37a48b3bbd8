package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node"
	"github.com/posnode/posnode/node/slashprot"
)

// testnetHomes writes a testnet of n nodes under a new directory and returns their homes and addresses.
func testnetHomes(t *testing.T, chainID string, n int) ([]string, []chain.Address) {
	t.Helper()
	_, nodes, err := node.WriteTestnet(node.TestnetOptions{Dir: t.TempDir(), Nodes: n, Stakes: []uint64{10}, Balance: 100,
		Slot: time.Second, Epoch: 8, ChainID: chainID, Now: time.Now(), BasePort: 4001, BaseHTTP: 8081})
	if err != nil {
		t.Fatal(err)
	}
	var homes []string
	var addrs []chain.Address
	for _, nd := range nodes {
		homes, addrs = append(homes, nd.Home), append(addrs, nd.Address)
	}
	return homes, addrs
}

func openRecord(t *testing.T, home string) *slashprot.DB {
	t.Helper()
	db, err := slashprot.Open(filepath.Join(home, slashprot.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Moving a validator: export on the old home, import on the new one (refused while the record is in use),
// after which the new home refuses what the old one signed; a file of another network is refused.
func TestSlashingProtectionExportImport(t *testing.T) {
	homes, addrs := testnetHomes(t, "posnode-move", 2)
	old, fresh, a := homes[0], homes[1], addrs[0]
	db := openRecord(t, old)
	signed := chain.HashBytes([]byte("block 30"))
	if err := db.CheckAndRecordBlock(a, 30, signed); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckAndRecordVote(a, 2, 3, chain.HashBytes([]byte("vote 3"))); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "protection.json")
	if err := cmdSlashingProtection([]string{"export", "--home", old, "--out", file}); !errors.Is(err, slashprot.ErrLocked) {
		t.Fatalf("export while the record is in use: got %v, want ErrLocked", err)
	}
	db.Close()
	if err := cmdSlashingProtection([]string{"export", "--home", old, "--out", file}); err != nil {
		t.Fatalf("export: %v", err)
	}
	running := openRecord(t, fresh) // as a node running on the new home would
	if err := cmdSlashingProtection([]string{"import", "--home", fresh, "--in", file}); !errors.Is(err, slashprot.ErrLocked) {
		t.Fatalf("import while the record is in use: got %v, want ErrLocked", err)
	}
	running.Close()
	if err := cmdSlashingProtection([]string{"import", "--home", fresh, "--in", file}); err != nil {
		t.Fatalf("import: %v", err)
	}
	db = openRecord(t, fresh)
	defer db.Close()
	if s, ok := db.LatestBlock(a); !ok || s != 30 {
		t.Errorf("latest block after import: got %d %t, want 30", s, ok)
	}
	if err := db.CheckAndRecordBlock(a, 30, chain.HashBytes([]byte("other"))); !errors.Is(err, slashprot.ErrSlashableBlock) {
		t.Errorf("another block at slot 30 after import: got %v", err)
	}
	if err := db.CheckAndRecordVote(a, 1, 4, chain.HashBytes([]byte("other"))); !errors.Is(err, slashprot.ErrSlashableVote) {
		t.Errorf("surrounding vote after import: got %v", err)
	}
	db.Close()

	foreign, _ := testnetHomes(t, "posnode-other", 1)
	err := cmdSlashingProtection([]string{"import", "--home", foreign[0], "--in", file})
	if !errors.Is(err, slashprot.ErrWrongGenesis) {
		t.Errorf("import into another network: got %v, want ErrWrongGenesis", err)
	}
}

// Export from a home without a record says so instead of writing an empty file; bad arguments are errors.
func TestSlashingProtectionCommandErrors(t *testing.T) {
	homes, _ := testnetHomes(t, "posnode-errors", 1)
	out := filepath.Join(t.TempDir(), "x.json")
	err := cmdSlashingProtection([]string{"export", "--home", homes[0], "--out", out})
	if err == nil || !strings.Contains(err.Error(), "no slashing protection record") {
		t.Errorf("export without a record: got %v", err)
	}
	if _, serr := os.Stat(out); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("export without a record wrote %s", out)
	}
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"import", "--home", homes[0]},
		{"import", "--home", homes[0], "--in", filepath.Join(t.TempDir(), "missing.json")},
		{"export", "--home", t.TempDir()},
	} {
		if err := cmdSlashingProtection(args); err == nil {
			t.Errorf("slashing-protection %q: got nil error", args)
		}
	}
}
