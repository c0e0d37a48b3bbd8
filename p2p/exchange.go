package p2p

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	"go.uber.org/zap"
)

// Peer exchange (PROTOCOL.md §10): a host asks each peer it has identified for the signed peer records of that
// peer's other peers, and dials them while it has fewer than exchangeTarget peers. A record is the peer's own
// signed list of its listen addresses, as identify carries it, so no answer can put an address in another peer's
// mouth.
const (
	protoPeers         = "peers"          // the exchange's request/response protocol
	exchangeTarget     = 16               // a host below this many peers asks for more
	maxExchangeRecords = 16               // records in one answer
	maxRecordSize      = 2048             // bytes of one signed record
	exchangeEvery      = 30 * time.Second // how often a host below the target asks a random peer again
	exchangeQueue      = 64               // identified peers waiting to be asked; more are dropped
)

// exchangeLimits bound what one peer may ask of the exchange: an honest node asks a peer once when it connects and
// then at most every exchangeEvery (PROTOCOL.md §10).
var exchangeLimits = []HandlerOption{RateLimit(1, 4)}

// ErrBadPeerRecords: a peer-exchange answer does not decode, or holds a record that is not a valid signed peer
// record.
var ErrBadPeerRecords = errors.New("bad peer records")

// peerRecords holds the signed peer record each connected peer sent in identify, encoded, for the exchange's
// answers. The peer watcher writes it; stream handlers read it.
type peerRecords struct {
	mu sync.Mutex
	m  map[peer.ID][]byte
}

func (r *peerRecords) set(p peer.ID, env *record.Envelope) {
	data, err := env.Marshal()
	if err != nil || len(data) > maxRecordSize {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[peer.ID][]byte{}
	}
	r.m[p] = data
}

func (r *peerRecords) drop(p peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, p)
}

func (r *peerRecords) get(p peer.ID) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[p]
}

// servePeers answers a peer-exchange request with the records of up to maxExchangeRecords connected peers, chosen
// at random, other than the one asking.
func (h *Host) servePeers(_ context.Context, from string, req []byte) ([]byte, error) {
	if len(req) != 0 {
		return nil, fmt.Errorf("%w: request of %d bytes, want none", ErrBadPeerRecords, len(req))
	}
	peers := h.posnodePeers() // never a connection that has not spoken posnode
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	var recs [][]byte
	for _, p := range peers {
		if len(recs) == maxExchangeRecords {
			break
		}
		if data := h.records.get(p); data != nil && p.String() != from && !h.gater.blocked(p) {
			recs = append(recs, data)
		}
	}
	return encodePeerRecords(recs), nil
}

// encodePeerRecords writes count u8 | (len u16 | record)… (PROTOCOL.md §10).
func encodePeerRecords(recs [][]byte) []byte {
	out := []byte{byte(len(recs))}
	for _, r := range recs {
		out = binary.BigEndian.AppendUint16(out, uint16(len(r)))
		out = append(out, r...)
	}
	return out
}

// decodePeerRecords reads an answer: at most maxExchangeRecords records of at most maxRecordSize bytes, each a
// peer record signed by the key of the peer it names (PROTOCOL.md §10). One bad record fails the whole answer.
func decodePeerRecords(b []byte) ([]peer.AddrInfo, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty answer", ErrBadPeerRecords)
	}
	n, b := int(b[0]), b[1:]
	if n > maxExchangeRecords {
		return nil, fmt.Errorf("%w: %d records, limit %d", ErrBadPeerRecords, n, maxExchangeRecords)
	}
	out := make([]peer.AddrInfo, 0, n)
	for i := range n {
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: record %d: no length", ErrBadPeerRecords, i)
		}
		size := int(binary.BigEndian.Uint16(b))
		if size > maxRecordSize || len(b)-2 < size {
			return nil, fmt.Errorf("%w: record %d: %d bytes, %d left, limit %d", ErrBadPeerRecords, i, size, len(b)-2, maxRecordSize)
		}
		ai, err := openPeerRecord(b[2 : 2+size])
		if err != nil {
			return nil, fmt.Errorf("%w: record %d: %w", ErrBadPeerRecords, i, err)
		}
		out, b = append(out, ai), b[2+size:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the records", ErrBadPeerRecords, len(b))
	}
	return out, nil
}

// openPeerRecord checks a signed peer record's signature and that its key is the peer it names.
func openPeerRecord(data []byte) (peer.AddrInfo, error) {
	var rec peer.PeerRecord
	env, err := record.ConsumeTypedEnvelope(data, &rec)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	if !rec.PeerID.MatchesPublicKey(env.PublicKey) {
		return peer.AddrInfo{}, errors.New("signed by another key than the peer's")
	}
	return peer.AddrInfo{ID: rec.PeerID, Addrs: rec.Addrs}, nil
}

// exchangePeers asks each identified peer that speaks the exchange for more peers, and a random peer every
// exchangeEvery, while the host has fewer than exchangeTarget peers; it returns when ctx ends.
func (h *Host) exchangePeers(ctx context.Context) {
	tick := time.NewTicker(exchangeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-h.identified:
			h.exchangeWith(ctx, p)
		case <-tick.C:
			if peers := h.posnodePeers(); len(peers) > 0 {
				h.exchangeWith(ctx, peers[rand.N(len(peers))])
			}
		}
	}
}

// exchangeWith asks p for its peers and dials those the host is not connected to, up to exchangeTarget peers.
func (h *Host) exchangeWith(ctx context.Context, p peer.ID) {
	if h.exchangePeerCount() >= exchangeTarget {
		return
	}
	resp, err := h.Request(ctx, p.String(), protoPeers, nil)
	if err != nil {
		h.log.Debug("peer exchange failed", zap.String("peer", p.String()), zap.Error(err))
		return
	}
	infos, err := decodePeerRecords(resp)
	if err != nil {
		h.log.Debug("peer exchange answer refused", zap.String("peer", p.String()), zap.Error(err))
		return
	}
	want := exchangeTarget - h.exchangePeerCount() // counted again: peers may have come during the request
	if want <= 0 {
		return
	}
	infos = slices.DeleteFunc(infos, func(ai peer.AddrInfo) bool {
		return ai.ID == h.host.ID() || len(ai.Addrs) == 0 || !h.needsDial(ai.ID)
	})
	if len(infos) > want {
		rand.Shuffle(len(infos), func(i, j int) { infos[i], infos[j] = infos[j], infos[i] })
		infos = infos[:want]
	}
	if len(infos) > 0 {
		h.log.Debug("dialling peers learnt by exchange", zap.String("from", p.String()), zap.Int("peers", len(infos)))
		h.dialAll(ctx, infos)
	}
}

// exchangePeerCount counts the peers that stop the exchange at exchangeTarget: those that speak posnode and those
// this host dialled (bootstrap, peers file, exchange), which are counted from the moment they connect so that the
// dials of one exchange are not made again by the next. An inbound connection counts only once its peer speaks
// posnode: silent connections must not keep a node from looking for real peers (PROTOCOL.md §10).
func (h *Host) exchangePeerCount() int {
	counted := make(map[peer.ID]bool)
	for _, c := range h.host.Network().Conns() {
		p := c.RemotePeer()
		if !counted[p] && (c.Stat().Direction == network.DirOutbound || h.speaksPosnode(p)) {
			counted[p] = true
		}
	}
	return len(counted)
}
