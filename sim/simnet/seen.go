package simnet

import (
	"encoding/binary"
	"time"
)

// seenTTL is how long a process remembers a gossip message it saw: go-libp2p-pubsub's seen cache keeps a
// message's ID for 2 minutes (TimeCacheDuration), and a message that comes back later is judged again.
const seenTTL = 2 * time.Minute

// seenSet is a process's gossip seen cache: the messages it saw in the last seenTTL at least and 2×seenTTL at
// most. Two generations turn over every seenTTL, so a process holds the IDs of the last minutes, not of the whole
// run. A message is named by the first 8 bytes of its SHA-256 ID (msgID), as the trace names it: two messages of a
// run that share them are as unlikely as a trace that mixes them up.
type seenSet struct {
	cur, old map[uint64]struct{} // seen since from; seen in the seenTTL before from
	from     time.Duration
}

func newSeenSet(now time.Duration) seenSet {
	return seenSet{cur: map[uint64]struct{}{}, from: now}
}

// check reports whether the message id was seen, and marks it seen at time now.
func (c *seenSet) check(now time.Duration, id [32]byte) bool {
	if now-c.from >= seenTTL {
		c.old, c.cur, c.from = c.cur, make(map[uint64]struct{}, len(c.cur)), now
	}
	k := binary.LittleEndian.Uint64(id[:8])
	if _, ok := c.cur[k]; ok {
		return true
	}
	if _, ok := c.old[k]; ok {
		return true
	}
	c.cur[k] = struct{}{}
	return false
}

// seenBefore reports whether process p saw the gossip message id lately, and marks it seen.
func (s *Sim) seenBefore(p *process, id [32]byte) bool { return p.seen.check(s.sched.now, id) }
