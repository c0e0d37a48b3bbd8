package node

import (
	"fmt"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/slashprot"
)

// openSlashing opens the slashing protection record in the data directory (PROTOCOL.md §11) and sets
// lastSigned from it. The last signed slot that earlier versions kept in chain.db is moved into it first, with
// its block's root unknown, so that no slot at or below it is ever signed again, even once chain.db is gone.
func (n *Node) openSlashing() error {
	path := filepath.Join(n.cfg.Data, slashprot.FileName)
	db, err := slashprot.Open(path)
	if err != nil {
		return err
	}
	if err := n.migrateLastSigned(db); err != nil {
		db.Close()
		return fmt.Errorf("move the last signed slot into %s: %w", path, err)
	}
	n.guard = db
	n.lastSigned, _ = db.LatestBlock(n.self)
	return nil
}

func (n *Node) migrateLastSigned(db *slashprot.DB) error {
	old, err := loadLastSigned(n.store)
	if err != nil || old == 0 {
		return err
	}
	if latest, ok := db.LatestBlock(n.self); ok && latest >= old {
		return nil
	}
	if err := db.CheckAndRecordBlock(n.self, old, chain.Hash{}); err != nil {
		return err
	}
	n.log.Info("moved the last signed slot from the chain database into the slashing protection record",
		zap.Uint64("slot", uint64(old)))
	return nil
}
