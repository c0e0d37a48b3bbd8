package adversary

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// Config is what a Peer needs.
type Config struct {
	Genesis   *chain.Genesis
	Bootstrap []string           // nodes to dial (full multiaddrs)
	Key       ed25519.PrivateKey // the peer's identity; nil makes a throwaway one
	Listen    []string           // default /ip4/127.0.0.1/tcp/0
	Logger    *zap.Logger
}

// Peer is one hostile peer.
type Peer struct {
	gen     *chain.Genesis
	chainID chain.Hash
	key     ed25519.PrivateKey
	host    *p2p.Host
	blocks  *p2p.Topic
	txs     *p2p.Topic
	log     *zap.Logger
}

// New starts the peer, joins both gossip topics (accepting everything it is sent) and dials cfg.Bootstrap.
func New(ctx context.Context, cfg Config) (*Peer, error) {
	if cfg.Genesis == nil {
		return nil, errors.New("adversary: no genesis")
	}
	if cfg.Key == nil {
		cfg.Key = NewKey()
	}
	if len(cfg.Listen) == 0 {
		cfg.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	// No peer exchange: the adversary talks only to the peers it is given, so an attack reaches whom it aims at.
	h, err := p2p.New(ctx, p2p.Config{Key: cfg.Key, Listen: cfg.Listen, Bootstrap: cfg.Bootstrap,
		Namespace: cfg.Genesis.Hash().String(), Logger: cfg.Logger.Named("p2p"), NoPeerExchange: true})
	if err != nil {
		return nil, err
	}
	p := &Peer{gen: cfg.Genesis, chainID: cfg.Genesis.Hash(), key: cfg.Key, host: h, log: cfg.Logger}
	accept := func(context.Context, string, []byte) p2p.Verdict { return p2p.Accept }
	if p.blocks, err = h.Join("blocks", accept); err == nil {
		p.txs, err = h.Join("txs", accept)
	}
	if err != nil {
		h.Close()
		return nil, err
	}
	return p, nil
}

// NewKey returns a fresh ed25519 key.
func NewKey() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // broken invariant: the system has no randomness
	}
	return k
}

// Close stops the peer.
func (p *Peer) Close() error { return p.host.Close() }

// ID returns the peer's ID.
func (p *Peer) ID() string { return p.host.ID() }

// Addrs returns the peer's dialable addresses.
func (p *Peer) Addrs() []string { return p.host.Addrs() }

// Address returns the account address of the peer's key.
func (p *Peer) Address() chain.Address { return chain.AddressOf(p.key.Public().(ed25519.PublicKey)) }

// Connected reports how many nodes the peer is connected to.
func (p *Peer) Connected() int { return len(p.host.Peers()) }

// WaitForTopics waits until some node subscribes to both gossip topics with the peer, or ctx ends.
func (p *Peer) WaitForTopics(ctx context.Context) error {
	for p.blocks.Peers() == 0 || p.txs.Peers() == 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("adversary: no node on the gossip topics: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Status asks a node for its head.
func (p *Peer) Status(ctx context.Context, node string) (Status, error) {
	resp, err := p.host.Request(ctx, node, protoStatus, nil)
	if err != nil {
		return Status{}, err
	}
	return decodeStatus(resp)
}

// Blocks asks a node for up to count canonical blocks from height from.
func (p *Peer) Blocks(ctx context.Context, node string, from chain.Height, count uint32) ([]*chain.Block, error) {
	resp, err := p.host.Request(ctx, node, protoBlocks, rangeReq{From: from, Count: count, MaxBytes: 2 << 20}.encode())
	if err != nil {
		return nil, err
	}
	return decodeBlocks(resp)
}

// firstNode returns the ID of a connected node.
func (p *Peer) firstNode() (string, error) {
	peers := p.host.Peers()
	if len(peers) == 0 {
		return "", errors.New("adversary: not connected to any node")
	}
	return peers[0].ID, nil
}

// publish gossips data on t, retrying while no node is on the topic, until ctx ends.
func publish(ctx context.Context, t *p2p.Topic, data []byte) error {
	for {
		err := t.Publish(ctx, data)
		if !errors.Is(err, p2p.ErrNoPeers) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
