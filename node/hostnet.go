package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/posnode/posnode/p2p"
)

// hostNetwork is production's Network: *p2p.Host, with goroutines of its own that keep the slow parts of the
// network off the event loop — one publisher for gossip, one goroutine per request, one reader of peer events,
// and one reader per topic, which only empties its queue (a topic's messages enter the node in its validator).
// Close stops them and waits.
type hostNetwork struct {
	*p2p.Host
	log    *zap.Logger
	ctx    context.Context
	cancel context.CancelFunc
	pubs   chan publication // messages for the publisher
	onPeer chan func(string)
	wg     sync.WaitGroup
}

type publication struct {
	topic *p2p.Topic
	data  []byte
}

// publishQueue is how many gossip messages wait for the publisher before new ones are left to sync.
const publishQueue = 1024

func newHostNetwork(h *p2p.Host, log *zap.Logger) *hostNetwork {
	ctx, cancel := context.WithCancel(context.Background())
	hn := &hostNetwork{Host: h, log: log, ctx: ctx, cancel: cancel, pubs: make(chan publication, publishQueue),
		onPeer: make(chan func(string), 1)}
	hn.wg.Go(hn.publisher)
	return hn
}

// Close stops the adapter's goroutines, then the host.
func (hn *hostNetwork) Close() error {
	hn.cancel()
	hn.wg.Wait()
	return hn.Host.Close()
}

func (hn *hostNetwork) Join(name string, v p2p.Validator) (Topic, error) {
	t, err := hn.Host.Join(name, v)
	if err != nil {
		return nil, err
	}
	hn.wg.Go(func() {
		for {
			select {
			case <-hn.ctx.Done():
				return
			case _, ok := <-t.Messages():
				if !ok {
					return
				}
			}
		}
	})
	return hostTopic{t, hn}, nil
}

func (hn *hostNetwork) Request(peer, proto string, req []byte, timeout time.Duration, done func([]byte, error)) {
	hn.wg.Go(func() {
		ctx, cancel := context.WithTimeout(hn.ctx, timeout)
		defer cancel()
		done(hn.Host.Request(ctx, peer, proto, req))
	})
}

func (hn *hostNetwork) OnPeer(f func(string)) {
	hn.wg.Go(func() {
		for {
			select {
			case <-hn.ctx.Done():
				return
			case id := <-hn.PeerEvents():
				f(id)
			}
		}
	})
}

// publisher sends gossip outside the event loop, so that a slow network never stalls consensus.
func (hn *hostNetwork) publisher() {
	for {
		select {
		case <-hn.ctx.Done():
			return
		case p := <-hn.pubs:
			pctx, cancel := context.WithTimeout(hn.ctx, 5*time.Second)
			switch err := p.topic.Publish(pctx, p.data); {
			case err == nil, hn.ctx.Err() != nil:
			case errors.Is(err, p2p.ErrNoPeers):
				hn.log.Debug("nothing published: no peers on the topic yet; sync and re-gossip cover it")
			default:
				hn.log.Warn("publish failed", zap.Error(err))
			}
			cancel()
		}
	}
}

// hostTopic is a joined topic of hostNetwork.
type hostTopic struct {
	t  *p2p.Topic
	hn *hostNetwork
}

// Publish queues the message for the publisher; it never blocks.
func (ht hostTopic) Publish(data []byte) {
	select {
	case ht.hn.pubs <- publication{ht.t, data}:
	default:
		ht.hn.log.Warn("publish queue full; message left to sync")
	}
}

func (ht hostTopic) Peers() int { return ht.t.Peers() }
