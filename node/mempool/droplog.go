package mempool

import (
	"time"

	"github.com/posnode/posnode/chain"
)

// maxDropped is how many dropped transactions the node remembers for Tx queries.
const maxDropped = 10_000

// dropLog remembers why the most recent maxDropped transactions left the mempool without a block; the oldest
// record goes first. It grows as transactions drop, up to its capacity: a node that drops none holds none (a
// ring and a map made at full size cost 1.5 MB per node). Owned by the event loop.
type dropLog struct {
	ring     []chain.Hash // the IDs in order of recording; a slot is reused once the ring is full
	capacity int
	next     int
	records  map[chain.Hash]dropRecord
}

type dropRecord struct {
	reason string
	at     time.Time
}

func newDropLog(capacity int) *dropLog {
	return &dropLog{capacity: max(capacity, 1), records: map[chain.Hash]dropRecord{}}
}

// add records that id was dropped for reason at time at.
func (d *dropLog) add(id chain.Hash, reason string, at time.Time) {
	if _, ok := d.records[id]; ok {
		d.records[id] = dropRecord{reason, at}
		return
	}
	if len(d.ring) < d.capacity {
		d.ring = append(d.ring, id)
	} else {
		delete(d.records, d.ring[d.next])
		d.ring[d.next] = id
		d.next = (d.next + 1) % len(d.ring)
	}
	d.records[id] = dropRecord{reason, at}
}

// reason returns why id was dropped, if it is remembered.
func (d *dropLog) reason(id chain.Hash) (string, bool) {
	r, ok := d.records[id]
	return r.reason, ok
}
