package p2p

import "errors"

// Configuration and input errors.
var (
	// ErrBadConfig: a Config field is missing or malformed (key, namespace, listen address).
	ErrBadConfig = errors.New("bad p2p config")
	// ErrBadAddr: a string is not a dialable multiaddr ending in /p2p/<peer id>.
	ErrBadAddr = errors.New("bad peer address")
	// ErrBadPeer: a string is not a peer ID.
	ErrBadPeer = errors.New("bad peer id")
	// ErrBadName: a topic or protocol name is empty or contains '/' or spaces.
	ErrBadName = errors.New("bad topic or protocol name")
)

// Runtime errors.
var (
	// ErrClosed: the host has been closed.
	ErrClosed = errors.New("p2p host closed")
	// ErrNoPeers: no connected peer subscribes to the topic, so a publish would reach nobody.
	ErrNoPeers = errors.New("no peers on topic")
	// ErrTooLarge: a message, request or response exceeds its size limit.
	ErrTooLarge = errors.New("message too large")
	// ErrBlocked: the peer is on the host's deny-list.
	ErrBlocked = errors.New("peer blocked")
	// ErrUnsupported: the remote peer does not speak the requested protocol.
	ErrUnsupported = errors.New("protocol not supported by peer")
	// ErrRemote: the remote handler returned an error; its text follows.
	ErrRemote = errors.New("remote error")
	// ErrBadFrame: bytes from a peer do not form a valid frame.
	ErrBadFrame = errors.New("bad frame")
	// ErrRateLimited: the peer made more requests, or drew more response bytes, than its limit allows.
	ErrRateLimited = errors.New("rate limited")
)
