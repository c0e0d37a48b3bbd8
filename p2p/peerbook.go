package p2p

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"go.uber.org/zap"
)

// Peers-file bounds.
const (
	maxKnownPeers = 64 // most recently connected peers kept
	maxPeerAddrs  = 8  // newest addresses kept per peer
)

// knownPeer is one entry of the peers file.
type knownPeer struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs"`
}

// peersFile is the JSON layout of Config.PeersFile.
type peersFile struct {
	Peers []knownPeer `json:"peers"`
}

// peerBook is the list of known peers, most recently connected first. It is not safe for
// concurrent use: the host's peer watcher owns it once started.
type peerBook struct {
	path  string
	log   *zap.Logger
	peers []knownPeer
	dirty bool
}

// newPeerBook loads path; a missing or unreadable file gives an empty book (logged), never an error,
// because the file is only a hint.
func newPeerBook(path string, log *zap.Logger) *peerBook {
	b := &peerBook{path: path, log: log}
	if path == "" {
		return b
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return b
	}
	var f peersFile
	if err == nil {
		err = json.Unmarshal(data, &f)
	}
	if err != nil {
		log.Warn("ignoring peers file", zap.String("path", path), zap.Error(err))
		return b
	}
	if len(f.Peers) > maxKnownPeers {
		f.Peers = f.Peers[:maxKnownPeers]
	}
	b.peers = f.Peers
	return b
}

// addrInfos returns the known peers in dialable form, skipping malformed entries.
func (b *peerBook) addrInfos() []peer.AddrInfo {
	var out []peer.AddrInfo
	for _, kp := range b.peers {
		id, err := peer.Decode(kp.ID)
		if err != nil {
			continue
		}
		ai := peer.AddrInfo{ID: id}
		for _, s := range kp.Addrs {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		if len(ai.Addrs) > 0 {
			out = append(out, ai)
		}
	}
	return out
}

// seen records that p is connected and reachable at addrs, moving it to the front.
func (b *peerBook) seen(p peer.ID, addrs []ma.Multiaddr) {
	id := p.String()
	var fresh []string
	for _, a := range addrs {
		if dialable(a) {
			fresh = append(fresh, a.String())
		}
	}
	i := slices.IndexFunc(b.peers, func(kp knownPeer) bool { return kp.ID == id })
	if i >= 0 {
		fresh = append(fresh, b.peers[i].Addrs...)
		b.peers = slices.Delete(b.peers, i, i+1)
	}
	fresh = uniq(fresh)
	if len(fresh) > maxPeerAddrs {
		fresh = fresh[:maxPeerAddrs]
	}
	if len(fresh) == 0 {
		return
	}
	b.peers = slices.Insert(b.peers, 0, knownPeer{ID: id, Addrs: fresh})
	if len(b.peers) > maxKnownPeers {
		b.peers = b.peers[:maxKnownPeers]
	}
	b.dirty = true
}

// forget drops p, e.g. when it is blocked.
func (b *peerBook) forget(p peer.ID) {
	id := p.String()
	n := len(b.peers)
	b.peers = slices.DeleteFunc(b.peers, func(kp knownPeer) bool { return kp.ID == id })
	b.dirty = b.dirty || len(b.peers) != n
}

// flush writes the book if it changed since the last write.
func (b *peerBook) flush() {
	if b.path == "" || !b.dirty {
		return
	}
	if err := b.write(); err != nil {
		b.log.Warn("write peers file", zap.String("path", b.path), zap.Error(err))
		return
	}
	b.dirty = false
}

// write replaces the file atomically: a temporary file in the same directory, synced, renamed.
func (b *peerBook) write() error {
	data, err := json.MarshalIndent(peersFile{Peers: b.peers}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode peers: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(b.path), filepath.Base(b.path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), b.path)
}

// dialable reports whether a is worth remembering: a direct IP address, not a wildcard or relay.
func dialable(a ma.Multiaddr) bool {
	if manet.IsIPUnspecified(a) {
		return false
	}
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err != nil && (isProto(a, ma.P_TCP) || isProto(a, ma.P_QUIC_V1))
}

func isProto(a ma.Multiaddr, code int) bool {
	_, err := a.ValueForProtocol(code)
	return err == nil
}

// uniq removes later duplicates, keeping order.
func uniq(s []string) []string {
	seen := make(map[string]bool, len(s))
	return slices.DeleteFunc(s, func(x string) bool {
		dup := seen[x]
		seen[x] = true
		return dup
	})
}
