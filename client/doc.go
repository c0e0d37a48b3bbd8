// Package client is what a program needs to take part in a posnode network with a key of its own and no node:
// it builds and signs the user's transactions (PROTOCOL.md §3) and checks what a node answers against headers
// instead of trusting it — that a transaction is in a block (PROTOCOL.md §4a). The command posnode client uses
// it. It imports chain and keyfile only: no network, no node.
package client
