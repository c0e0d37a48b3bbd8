// Package light is the light-client protocol of PROTOCOL.md §14: the messages a full node serves to a client
// that holds no chain (finality updates, inclusion and account proofs, bootstrap headers, submitted
// transactions), their strict decoders, and the verification that lets the client follow finality from a
// trusted checkpoint without trusting the server: each update is a Casper FFG supermajority link whose votes
// are checked against a stake table proven by a header the client already trusts. It imports chain and
// consensus only: the server side is in package node, the client side in package client.
package light
