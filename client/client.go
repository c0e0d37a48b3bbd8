package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/light"
)

// Client errors.
var (
	// ErrNoPeer: every full node the client knows failed or lied.
	ErrNoPeer = errors.New("no full node left to ask")
	// ErrState: the state file is not the client's, or belongs to another network.
	ErrState = errors.New("bad client state file")
)

// Transport is how a Client reaches full nodes by request/response (PROTOCOL.md §10, §14): *p2p.Host is one. A
// failure the server reports comes back as an error whose text holds the server's.
type Transport interface {
	Request(ctx context.Context, peer, proto string, req []byte) ([]byte, error)
}

// Config configures a Client.
type Config struct {
	Genesis *chain.Genesis
	Wallet  *Wallet
	Net     Transport
	// Peers are the IDs of the full nodes to ask, in order of preference.
	Peers []string
	// StatePath is the state file (trusted checkpoint, pending and final records); "" keeps it in memory.
	StatePath string
	// Checkpoint is a weak-subjectivity checkpoint to start from (PROTOCOL.md §12) when the state file holds
	// none; nil starts from genesis.
	Checkpoint *chain.Checkpoint
	// Log, if set, receives one line per event a user may want to see (a peer caught lying, a resubmission).
	Log func(format string, args ...any)
}

// Client is a light client (PROTOCOL.md §14): it follows finality from a trusted checkpoint, submits the user's
// transactions and proves each committed, then final, asking full nodes and trusting none of them. Its methods
// are safe for concurrent use; they run one at a time.
type Client struct {
	cfg     Config
	mu      sync.Mutex
	st      saved
	cur     int               // the peer asked first
	liars   map[string]string // peers caught lying, with what they did
	bytes   map[chain.Epoch]Traffic
	started bool // trust initialised (genesis, or a bootstrapped checkpoint)
	tracks  uint64

	nonce      chain.Nonce      // the account's nonce in the finalized state of nonceAt
	nonceAt    chain.Checkpoint //
	nonceKnown bool
}

// Load returns a client with the state of cfg.StatePath, or a fresh one. It fails with ErrState when the file is
// of another network.
func Load(cfg Config) (*Client, error) {
	c := &Client{cfg: cfg, liars: map[string]string{}, bytes: map[chain.Epoch]Traffic{}}
	s, err := load(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	switch {
	case s != nil && s.Genesis != cfg.Genesis.Hash():
		return nil, fmt.Errorf("%w: %s belongs to network %s", ErrState, cfg.StatePath, s.Genesis.Short())
	case s != nil:
		c.st, c.started = *s, true
	case cfg.Checkpoint == nil || cfg.Checkpoint.Epoch == 0:
		c.st = saved{Genesis: cfg.Genesis.Hash(), Trust: light.GenesisTrust(cfg.Genesis)}
		c.started = true
	default:
		c.st = saved{Genesis: cfg.Genesis.Hash()}
	}
	return c, nil
}

// Address is the wallet's address.
func (c *Client) Address() chain.Address { return c.cfg.Wallet.Address() }

// SetPeers sets the full nodes to ask, by peer ID in order of preference, and keeps their multiaddrs in the state
// file (SavedPeers); it does not clear what the client learnt about liars.
func (c *Client) SetPeers(ids, addrs []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.Peers, c.cur = ids, 0
	c.st.Peers = append([]string(nil), addrs...)
	return c.st.store(c.cfg.StatePath)
}

// SavedPeers returns the multiaddrs the state file keeps (SetPeers).
func (c *Client) SavedPeers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.st.Peers...)
}

// Trust returns the checkpoints the client trusts now.
func (c *Client) Trust() light.Trust {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Trust
}

// Records returns the pending records, oldest first, and the final ones.
func (c *Client) Records() (pending, final []Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.st.Pending...), append([]Record(nil), c.st.History...)
}

// Traffic is the bytes of answers a client downloaded: finality updates and bootstrap headers, and the rest
// (inclusion and account proofs, submission answers).
type Traffic struct {
	Updates int
	Proofs  int
}

// BytesPerEpoch returns the bytes of answers the client downloaded, by the epoch it was following then: the one
// after its justified checkpoint's.
func (c *Client) BytesPerEpoch() map[chain.Epoch]Traffic {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[chain.Epoch]Traffic, len(c.bytes))
	for e, b := range c.bytes {
		out[e] = b
	}
	return out
}

// Liars returns the peers caught lying, with what each did.
func (c *Client) Liars() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.liars))
	for p, why := range c.liars {
		out[p] = why
	}
	return out
}

func (c *Client) logf(format string, args ...any) {
	if c.cfg.Log != nil {
		c.cfg.Log(format, args...)
	}
}

// ask sends req to the peers in turn, from the current one, until one answers and check accepts the answer;
// check's error marks the peer a liar, and the next one is asked (PROTOCOL.md §14). A peer that fails to answer
// is passed over without blame. Bytes are counted to epoch. Called with c.mu held.
func (c *Client) ask(ctx context.Context, proto string, req []byte, epoch chain.Epoch, check func([]byte) error) error {
	var last error
	for i := range c.cfg.Peers {
		p := c.cfg.Peers[(c.cur+i)%len(c.cfg.Peers)]
		if _, lied := c.liars[p]; lied {
			continue
		}
		resp, err := c.cfg.Net.Request(ctx, p, proto, req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = err
			if remoteRefusal(err) {
				return err // the server answered, and the answer is "nothing yet"
			}
			continue
		}
		tr := c.bytes[epoch]
		if proto == light.ProtoUpdate || proto == light.ProtoBootstrap {
			tr.Updates += len(resp)
		} else {
			tr.Proofs += len(resp)
		}
		c.bytes[epoch] = tr
		if err := check(resp); err != nil {
			c.liars[p] = err.Error()
			c.logf("node %s lied (%v); turning to another node", p, err)
			last = err
			continue
		}
		c.cur = (c.cur + i) % len(c.cfg.Peers)
		return nil
	}
	return fmt.Errorf("%w: %w", ErrNoPeer, errors.Join(last))
}

// remoteRefusal reports whether err is a server's honest "not yet": no newer justified checkpoint, a
// transaction in no canonical block, or a transaction the mempool refused.
func remoteRefusal(err error) bool {
	s := err.Error()
	return strings.Contains(s, "no newer justified checkpoint") || strings.Contains(s, "in no canonical block") ||
		strings.Contains(s, "invalid transaction") || strings.Contains(s, "refused")
}
