package node

import (
	"context"
	"testing"

	"github.com/posnode/posnode/node/view"
)

// offlineSlots describes the slots of epochs from..to for a node whose event loop does not run: a goroutine
// stands in for the loop and runs its calls.
func offlineSlots(t *testing.T, n *Node, from, to uint64) ([]view.Slot, error) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case f := <-n.calls:
				f()
			case <-done:
				return
			}
		}
	}()
	defer close(done)
	snap, err := n.readSnapshot(context.Background())
	if err != nil {
		return nil, err
	}
	return n.slots(context.Background(), snap, from, to)
}
