package simnet

// hop is one link a gossip message leaves a process by: the process at its other end and the link.
type hop struct {
	to int
	l  *link
}

// forwardTo lists the links process a sends a gossip message on, except the one to process from (-1: none): its
// live links in their fixed order, and with Config.Mesh set only the first Mesh of them — gossipsub's mesh of D
// peers per topic out of all its connections, re-formed at once from the live links after a crash or a
// partition. Without Mesh every live link carries every message. The list is valid until the next call: callers
// only send on each hop, which queues and never forwards.
func (s *Sim) forwardTo(a, from int) []hop {
	out := s.hops[:0]
	for i, b := range s.adj[a] {
		if l := s.adjL[a][i]; b != from && s.up(l, a, b) {
			out = append(out, hop{b, l})
			if len(out) == s.cfg.Mesh {
				break
			}
		}
	}
	s.hops = out
	return out
}
