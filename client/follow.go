package client

import (
	"context"
	"fmt"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// maxUpdatesPerSync bounds the updates one Sync applies, so that a client far behind returns to its caller
// between batches.
const maxUpdatesPerSync = 64

// Sync follows finality (PROTOCOL.md §14): it asks for the update after its justified checkpoint and verifies it
// (light.Verify), until a node says there is none yet. It returns how many updates it applied; a node whose
// update does not verify is a liar, and the next is asked. Errors: ErrNoPeer, the context's, a state file that
// cannot be written.
func (c *Client) Sync(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.bootstrap(ctx); err != nil {
		return 0, err
	}
	applied := 0
	for ; applied < maxUpdatesPerSync; applied++ {
		next, err := c.nextUpdate(ctx)
		if err != nil {
			if remoteRefusal(err) {
				break
			}
			return applied, err
		}
		c.advance(next)
	}
	if applied > 0 {
		return applied, c.st.store(c.cfg.StatePath)
	}
	return 0, nil
}

// nextUpdate asks for and verifies an update from the justified checkpoint or an earlier one it saw justified
// (PROTOCOL.md §14), returning the trust after it.
func (c *Client) nextUpdate(ctx context.Context) (light.Trust, error) {
	t := c.st.Trust
	trusts := append([]light.Trust{t}, c.st.Earlier...)
	srcs := make([]chain.Checkpoint, len(trusts))
	for i, tr := range trusts {
		srcs[i] = tr.Justified.Checkpoint
	}
	var next light.Trust
	g := c.cfg.Genesis
	err := c.ask(ctx, light.ProtoUpdate, light.EncodeSources(srcs), t.Justified.Checkpoint.Epoch+1,
		func(resp []byte) error {
			u, err := light.DecodeUpdate(resp)
			if err != nil {
				return err
			}
			from := t
			for _, tr := range trusts {
				if tr.Justified.Checkpoint == u.Source {
					from = tr
				}
			}
			if next, err = light.Verify(g.Hash(), g.EpochLength, from, &u); err != nil {
				return err
			}
			if next.Justified.Checkpoint.Epoch <= t.Justified.Checkpoint.Epoch {
				return fmt.Errorf("%w: update to %s, trusted %s", light.ErrWrongSource, u.Target, t.Justified.Checkpoint)
			}
			if next.Finalized.Checkpoint.Epoch < t.Finalized.Checkpoint.Epoch {
				next.Finalized = t.Finalized
			}
			return nil
		})
	return next, err
}

// advance makes next the trust, keeping the one before among the earlier trusts while its justified checkpoint
// is not below the finalized one (light.MaxSources in all).
func (c *Client) advance(next light.Trust) {
	keep := []light.Trust{c.st.Trust}
	for _, tr := range c.st.Earlier {
		if len(keep) < light.MaxSources-1 {
			keep = append(keep, tr)
		}
	}
	c.st.Earlier = c.st.Earlier[:0]
	for _, tr := range keep {
		if tr.Justified.Checkpoint.Epoch >= next.Finalized.Checkpoint.Epoch && tr.Justified.Checkpoint != next.Justified.Checkpoint {
			c.st.Earlier = append(c.st.Earlier, tr)
		}
	}
	c.st.Trust = next
}

// bootstrap sets the trust of a client started from a checkpoint (PROTOCOL.md §12): the header of the
// checkpoint's block, from any node, checked against the checkpoint's hash.
func (c *Client) bootstrap(ctx context.Context) error {
	if c.started {
		return nil
	}
	cp := *c.cfg.Checkpoint
	err := c.ask(ctx, light.ProtoBootstrap, light.EncodeCheckpoint(cp), cp.Epoch, func(resp []byte) error {
		h, err := chain.DecodeHeader(resp)
		if err != nil {
			return err
		}
		c.st.Trust, err = light.CheckpointTrust(cp, h)
		return err
	})
	if err != nil {
		return fmt.Errorf("bootstrap from checkpoint %s: %w", cp, err)
	}
	c.started = true
	return c.st.store(c.cfg.StatePath)
}
