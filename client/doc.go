// Package client is what a program needs to take part in a posnode network with a key of its own and no node:
// it builds and signs the user's transactions (PROTOCOL.md §3), follows finality from a trusted checkpoint by
// verified updates, and proves each submitted transaction committed and then final (PROTOCOL.md §4a, §14),
// trusting no node it asks: a node whose answer does not verify is dropped for the next. The command posnode
// client uses it. It reaches nodes through a Transport (*p2p.Host is one) and imports no libp2p and no node.
package client
