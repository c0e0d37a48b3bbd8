// Package p2p is the node's network layer and the only package that imports libp2p.
//
// A Host is one libp2p node whose identity is the same ed25519 key that signs blocks, so its peer
// ID is the text form of the validator's chain.Address (PROTOCOL.md §1). It offers:
//
//   - gossip (Join, Topic.Publish, Topic.Messages): one gossipsub router per host; messages are
//     not signed by the router (blocks and transactions carry their own signatures), message IDs
//     are SHA-256 of topic ‖ data, and a Validator's Verdict decides whether a message is
//     delivered and forwarded (Accept), dropped (Ignore) or dropped with a scoring penalty for
//     the peer that sent it (Reject);
//   - request/response (Handle, Request): one length-prefixed request and one response frame per
//     stream, bounded in size and time, with per-peer request and byte limits (RateLimit, ByteRate),
//     used by sync (PROTOCOL.md §10);
//   - peer management: bootstrap peers redialled with backoff, a file of known peers redialled at
//     start, peer exchange (each new peer is asked for its peers' signed records while the host has
//     fewer than 16 peers), optional mDNS discovery, a deny-list (Block, Unblock) enforced by a
//     connection gater;
//   - a connection budget (PROTOCOL.md §10): only peers that speak posnode (a posnode stream or topic) are Peers;
//     per-address, per-subnet and total limits in the resource manager; the connection manager trims connections
//     that never spoke posnode first; Bare stands for such a connection in tests;
//   - peer penalties (Penalize): decaying points that count in gossipsub's peer score beside its
//     count of rejected messages; a peer at BanPoints, or graylisted by its score, is disconnected
//     and refused for Config.BanFor;
//   - NAT traversal (PROTOCOL.md §10): AutoNAT sets the host's Reachability, a private host keeps
//     reservations with connected relays (RelayReservations) and is reached through them, hole punching
//     upgrades relayed connections, and Config.RelayService relays for others, with bounded resources.
//
// Topics are named "/posnode/<namespace>/<name>" and protocols "/posnode/<namespace>/<name>/1",
// where the namespace is the network's name (the hex genesis hash), so different networks never
// exchange messages.
//
// Only the project's own types cross the package boundary: peers are peer-ID strings and
// addresses are multiaddr strings. Every goroutine a Host starts ends when Close returns.
package p2p
