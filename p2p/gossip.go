package p2p

import (
	"context"
	"fmt"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Verdict is a Validator's decision on a gossip message.
type Verdict int

const (
	// Accept delivers the message and forwards it to other peers.
	Accept Verdict = iota
	// Ignore drops the message without blame: duplicates, future slots, unknown parents,
	// anything while syncing.
	Ignore
	// Reject drops the message and penalizes the peer that sent it in gossipsub scoring; only for
	// provably invalid data.
	Reject
)

// String returns "accept", "ignore" or "reject".
func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Ignore:
		return "ignore"
	case Reject:
		return "reject"
	default:
		return fmt.Sprintf("verdict(%d)", int(v))
	}
}

// Message is a gossip message from another peer that passed validation.
type Message struct {
	From string // the peer that forwarded it, not necessarily its author
	Data []byte
}

// Validator judges a message from peer from before it is delivered or forwarded. It is called
// concurrently and must return within a few seconds (a late verdict counts as Ignore).
type Validator func(ctx context.Context, from string, data []byte) Verdict

// messagesBuffer is how many validated messages wait for the reader; beyond it gossipsub's own
// subscription buffer fills and drops messages for this node only.
const messagesBuffer = 256

// Topic is a joined gossip topic.
type Topic struct {
	h     *Host
	topic *pubsub.Topic
	out   chan Message
}

// Join subscribes to the gossip topic name; v judges every message from other peers (nil accepts
// all). Each name can be joined once per host.
func (h *Host) Join(name string, v Validator) (*Topic, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if h.isClosed() {
		return nil, ErrClosed
	}
	full := topicName(h.ns, name)
	if err := h.ps.RegisterTopicValidator(full, h.validator(v),
		pubsub.WithValidatorTimeout(validateTimeout)); err != nil {
		return nil, fmt.Errorf("register validator for %s: %w", name, err)
	}
	t, sub, err := h.joinTopic(full)
	if err != nil {
		_ = h.ps.UnregisterTopicValidator(full)
		return nil, err
	}
	tp := &Topic{h: h, topic: t, out: make(chan Message, messagesBuffer)}
	if !h.spawn(func() { tp.forward(h.life, sub) }) {
		sub.Cancel()
		return nil, ErrClosed
	}
	h.spawn(func() { h.watchTopicPeers(h.life, t) }) // a subscriber speaks posnode (PROTOCOL.md §10)
	return tp, nil
}

// joinTopic joins full, sets its scoring and subscribes.
func (h *Host) joinTopic(full string) (*pubsub.Topic, *pubsub.Subscription, error) {
	t, err := h.ps.Join(full)
	if err != nil {
		return nil, nil, fmt.Errorf("join %s: %w", full, err)
	}
	if err := t.SetScoreParams(topicScoreParams()); err != nil {
		_ = t.Close()
		return nil, nil, fmt.Errorf("score %s: %w", full, err)
	}
	sub, err := t.Subscribe()
	if err != nil {
		_ = t.Close()
		return nil, nil, fmt.Errorf("subscribe %s: %w", full, err)
	}
	return t, sub, nil
}

// validator translates v for gossipsub. The host's own publishes are accepted without asking v.
func (h *Host) validator(v Validator) pubsub.ValidatorEx {
	self := h.host.ID()
	return func(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		if from == self || v == nil {
			return pubsub.ValidationAccept
		}
		switch v(ctx, from.String(), m.Data) {
		case Accept:
			return pubsub.ValidationAccept
		case Reject:
			return pubsub.ValidationReject
		default:
			return pubsub.ValidationIgnore
		}
	}
}

// forward copies validated messages from other peers to t.out until ctx ends, then closes it.
func (t *Topic) forward(ctx context.Context, sub *pubsub.Subscription) {
	defer close(t.out)
	defer sub.Cancel()
	self := t.h.host.ID()
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return // ctx ended or the subscription was cancelled
		}
		if m.ReceivedFrom == self {
			continue
		}
		select {
		case t.out <- Message{From: m.ReceivedFrom.String(), Data: m.Data}:
		case <-ctx.Done():
			return
		}
	}
}

// Publish gossips data on the topic. A nil error means the message left this host, not that
// anyone received it, and sync fills such gaps. With no subscribed peer known it returns ErrNoPeers
// and sends nothing: gossipsub would otherwise mark the bytes as seen here, and with content-addressed
// IDs a later publish of the same bytes (a retry) would be dropped as a duplicate.
func (t *Topic) Publish(ctx context.Context, data []byte) error {
	if len(data) > MaxMessageSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxMessageSize)
	}
	if t.h.isClosed() {
		return ErrClosed
	}
	if len(t.topic.ListPeers()) == 0 {
		return ErrNoPeers
	}
	if err := t.topic.Publish(ctx, data); err != nil {
		return fmt.Errorf("publish on %s: %w", t.topic.String(), err)
	}
	return nil
}

// Messages delivers validated messages from other peers (never this host's own publishes). It is
// closed when the host closes.
func (t *Topic) Messages() <-chan Message { return t.out }

// Peers returns how many connected peers are subscribed to the topic.
func (t *Topic) Peers() int { return len(t.topic.ListPeers()) }
