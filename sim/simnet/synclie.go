package simnet

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

// errLieStall is a lying handler's stall: the simulated network lets the request expire.
var errLieStall = errors.New("simulated peer stalls")

// The lies of a sync liar's range answers, drawn uniformly; lieTruthful answers honestly.
const (
	lieTruthful = iota
	lieForged   // a block whose header was altered after it was signed (an invalid block)
	lieTruncated
	lieMisplaced // the first block left out, so the answer starts above the height asked for
	lieEmpty     // nothing, below the height claimed
	liePruned    // the pruned answer, for a range it holds
	lieStall     // no answer: the request expires
	lieKinds
)

// syncLies is what the sync liars did: the invalid answers each honest process received from each liar, and the
// penalty points each honest process charged each peer (PROTOCOL.md §10).
type syncLies struct {
	pending   bool           // the answer being made is invalid: its delivery counts (deliveredLie)
	invalid   map[[2]int]int // [asker, liar] → invalid answers delivered
	penalties map[[2]int]int // [process, peer] → points charged
}

// lyingHandler wraps the sync handlers of a byzantine sync liar (Handle): its node answers, and the strategy
// replaces what honest askers get. A status claims, one time in two, a better head than the node has (two heights
// above, an unknown hash), so that honest processes come to it for ranges.
func (s *Sim) lyingHandler(p *process, proto string, h p2p.Handler) p2p.Handler {
	if !s.isByzantine(p.id) || !s.cfg.Strategies.has(SyncLie) || proto != "status" && proto != "blocks" {
		return h
	}
	return func(ctx context.Context, from string, req []byte) ([]byte, error) {
		resp, err := h(ctx, from, req)
		j, ok := s.byPeer[from]
		if err != nil || !ok || s.isByzantine(j) {
			return resp, err
		}
		if proto == "status" {
			return s.lieStatus(resp), nil
		}
		return s.lieRange(p, s.procs[j], req, resp)
	}
}

// lieStatus claims a head two heights above the node's, one time in two.
func (s *Sim) lieStatus(resp []byte) []byte {
	if len(resp) < 56 || s.rng.IntN(2) == 0 {
		return resp
	}
	out := append([]byte(nil), resp...)
	fake := sha256.Sum256(resp)
	copy(out, fake[:])
	binary.BigEndian.PutUint64(out[32:], binary.BigEndian.Uint64(out[32:])+2)
	binary.BigEndian.PutUint64(out[40:], binary.BigEndian.Uint64(out[40:])+2)
	return out
}

// lieRange answers asker's range request req with one of the lies; the node's own answer is resp.
func (s *Sim) lieRange(p, asker *process, req, resp []byte) ([]byte, error) {
	from := chain.Height(0)
	if len(req) >= 8 {
		from = chain.Height(binary.BigEndian.Uint64(req))
	}
	blocks := splitBlocks(resp)
	switch s.rng.IntN(lieKinds) {
	case lieForged:
		return s.forged(p, asker, from, blocks), nil
	case lieTruncated:
		s.adv.more.lies.pending = true
		return resp[:len(resp)/2], nil
	case lieMisplaced:
		if len(blocks) < 2 {
			return resp, nil
		}
		s.adv.more.lies.pending = true
		return joinBlocks(blocks[1:]), nil
	case lieEmpty:
		return joinBlocks(nil), nil
	case liePruned:
		out := binary.BigEndian.AppendUint32(nil, math.MaxUint32)
		return binary.BigEndian.AppendUint64(out, uint64(from)+1000), nil
	case lieStall:
		return nil, errLieStall
	}
	return resp, nil
}

// forged alters the header of the answer's last block, or of a block at height from made on the liar's head when
// the answer is empty: its hash changes and its signature fails. It counts as invalid only when the asker holds
// the first block's parent (else the asker steps back before it checks a block, PROTOCOL.md §10).
func (s *Sim) forged(p, asker *process, from chain.Height, blocks [][]byte) []byte {
	if len(blocks) == 0 {
		head := p.node.Chain().Head()
		b, err := p.node.Chain().Block(head.Hash)
		if err != nil {
			return joinBlocks(nil)
		}
		f := *b
		f.Header.Height, f.Header.Parent = from, head.Hash
		blocks = [][]byte{f.Encode()}
	}
	last, err := chain.DecodeBlock(blocks[len(blocks)-1])
	if err != nil {
		return joinBlocks(blocks)
	}
	last.Header.StateRoot[0] ^= 1
	blocks[len(blocks)-1] = last.Encode()
	if first, err := chain.DecodeBlock(blocks[0]); err == nil && asker.node.Chain().Has(first.Header.Parent) {
		s.adv.more.lies.pending = true
	}
	return joinBlocks(blocks)
}

// splitBlocks returns the block encodings of a range answer (PROTOCOL.md §10: n u32, then len u32 | block each);
// nil for anything else.
func splitBlocks(resp []byte) [][]byte {
	if len(resp) < 4 || binary.BigEndian.Uint32(resp) == math.MaxUint32 {
		return nil
	}
	var out [][]byte
	for b := resp[4:]; len(b) >= 4; {
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+n {
			return nil
		}
		out, b = append(out, b[4:4+n]), b[4+n:]
	}
	return out
}

// joinBlocks frames block encodings as a range answer.
func joinBlocks(blocks [][]byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(blocks)))
	for _, b := range blocks {
		out = append(binary.BigEndian.AppendUint32(out, uint32(len(b))), b...)
	}
	return out
}

// takeLie reports whether the answer just made is invalid, and forgets it.
func (s *Sim) takeLie() bool {
	l := &s.adv.more.lies
	lie := l.pending
	l.pending = false
	return lie
}

// deliveredLie counts an invalid answer of liar that reached asker.
func (s *Sim) deliveredLie(asker, liar int) {
	l := &s.adv.more.lies
	if l.invalid == nil {
		l.invalid = map[[2]int]int{}
	}
	l.invalid[[2]int{asker, liar}]++
}

// notePenalty counts the points process id charged peer j.
func (s *Sim) notePenalty(id, j, points int) {
	l := &s.adv.more.lies
	if l.penalties == nil {
		l.penalties = map[[2]int]int{}
	}
	l.penalties[[2]int{id, j}] += points
}

// checkSyncLies checks PROTOCOL.md §10 against the sync liars: every honest process that received an invalid
// answer from a liar penalised it, and every honest process that is up caught up with the reference (no liar
// stalled it): its head at most two heights below the reference's at the end.
func (s *Sim) checkSyncLies(ref *process) {
	if !s.cfg.Strategies.has(SyncLie) || s.cfg.byzantineCount() == 0 {
		return
	}
	l := &s.adv.more.lies
	for a := range s.procs {
		for liar := range s.procs {
			if n := l.invalid[[2]int{a, liar}]; n > 0 && l.penalties[[2]int{a, liar}] == 0 {
				s.violate("sync lies: process %d received %d invalid sync answers from byzantine process %d and "+
					"never penalised it", a, n, liar)
			}
		}
	}
	top := ref.node.Chain().Head().Height
	for _, p := range s.procs {
		if p.up && !s.isByzantine(p.id) && p.node.Chain().Head().Height+2 < top {
			s.violate("sync lies: process %d is stalled at height %d, the reference process %d at %d", p.id,
				p.node.Chain().Head().Height, ref.id, top)
		}
	}
}

// syncLieSummary is the line the stats keep of the liars' work.
func (l *syncLies) String() string {
	n, pts := 0, 0
	for _, c := range l.invalid {
		n += c
	}
	for _, c := range l.penalties {
		pts += c
	}
	return fmt.Sprintf("%d invalid answers delivered, %d points charged", n, pts)
}
