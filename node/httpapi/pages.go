package httpapi

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// The explorer's block, transaction and account pages, and the search that leads to them.

// blockPage shows one block.
type blockPage struct {
	frame
	Block     view.Block
	Canonical bool
	Head      uint64 // the head's height, for the link to the next block
}

// getBlockPage shows /block/{id}: id is a height (the canonical block there) or a block hash or a prefix of one
// (any stored block); see findBlock.
func (s *Server) getBlockPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.cfg.Backend.Status(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	pg := blockPage{frame: frameOf(st, false), Head: st.Height}
	if pg.Block, pg.Canonical, err = s.findBlock(r.Context(), r.PathValue("id")); err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "block", "base", pg)
}

// txPage shows one transaction.
type txPage struct {
	frame
	Status view.TxStatus
}

// getTxPage shows /tx/{id}: id is a transaction ID or a unique prefix of at least 8 hex digits.
func (s *Server) getTxPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.cfg.Backend.Status(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	pg := txPage{frame: frameOf(st, false)}
	if pg.Status, err = s.cfg.Backend.FindTx(r.Context(), r.PathValue("id")); err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "tx", "base", pg)
}

// accountPage shows one account and what it did in the window of recent blocks.
type accountPage struct {
	frame
	Account  view.Account
	Share    *share       // its row of the stake-against-wins panel, if it is in the stake table
	Slots    int          // slots that panel weighed (fairnessSlots)
	Window   int          // blocks searched for its activity
	Proposed []view.Block // its newest maxAccountRows blocks of the window
	Made     int          // how many blocks of the window it proposed
	Txs      []accountTx
	Records  view.Records  // its newest BPM records (plotRecords of them)
	Stats    recordStats   // their min, average and max
	Plot     template.HTML // drawRecords of them
}

// plotRecords is how many of an account's newest records its page plots.
const plotRecords = 200

// accountTx is a transaction of the window that the account sent or received.
type accountTx struct {
	view.Tx
	Height uint64
}

// maxAccountRows bounds the blocks and transactions an account page lists.
const maxAccountRows = 50

// getAccountPage shows /account/{addr}.
func (s *Server) getAccountPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	addr, err := chain.ParseAddress(r.PathValue("addr"))
	if err != nil {
		s.failPage(w, r, view.Classed(view.ErrBadInput, err))
		return
	}
	pg, err := s.accountPage(ctx, addr)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "account", "base", pg)
}

func (s *Server) accountPage(ctx context.Context, addr chain.Address) (accountPage, error) {
	b := s.cfg.Backend
	st, err := b.Status(ctx)
	if err != nil {
		return accountPage{}, err
	}
	acct, err1 := b.Account(ctx, addr)
	blocks, err2 := fetchRange(ctx, b, max(st.Height+1, fairnessWindow)-fairnessWindow, st.Height) // with their transactions
	drawn, tables, err3 := fairnessSlots(ctx, b, st)
	recs, err4 := b.Records(ctx, addr, 0, plotRecords)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return accountPage{}, err
	}
	pg := accountPage{frame: frameOf(st, false), Account: acct, Window: len(blocks), Records: recs,
		Stats: statsOf(recs.Records), Plot: drawRecords(recs)}
	f := measureFairness(tables, drawn)
	pg.Slots = f.Slots
	for _, row := range f.Rows {
		if row.Address == addr {
			pg.Share = &row
		}
	}
	for i := len(blocks) - 1; i >= 0; i-- {
		blk := blocks[i]
		if blk.Height > 0 && blk.Proposer == addr {
			pg.Made++
			if len(pg.Proposed) < maxAccountRows {
				pg.Proposed = append(pg.Proposed, blk)
			}
		}
		for _, tx := range blk.Txs {
			if (tx.From == addr || tx.To != nil && *tx.To == addr) && len(pg.Txs) < maxAccountRows {
				pg.Txs = append(pg.Txs, accountTx{Tx: tx, Height: blk.Height})
			}
		}
	}
	return pg, nil
}

// getSearch resolves the search box's text and redirects to the page it names: a height, a block hash, a
// transaction ID, a prefix of either (8 or more hex digits), or an address. Text that names nothing gets a page
// that says so (404), or 409 for a prefix that several blocks or transactions share.
func (s *Server) getSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	target, err := s.resolve(r.Context(), q)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// minPrefix is the fewest hex digits of a block hash or a transaction ID that the explorer and the API resolve:
// the 8 the node prints everywhere (chain.Hash.Short).
const minPrefix = 8

// findBlock resolves a block's id as /block/{id}, /api/blocks/{id} and the search take it: digits without
// leading zeros are a height (the canonical block there); 8 to 64 hex digits are a block hash or a prefix of one
// (any stored block). Digits that are both a height with a block and a prefix of a block's hash are ambiguous
// (view.ErrAmbiguous), as is a prefix of several blocks' hashes.
func (s *Server) findBlock(ctx context.Context, id string) (b view.Block, canonical bool, err error) {
	be := s.cfg.Backend
	h, herr := strconv.ParseUint(id, 10, 64)
	isHeight := herr == nil && strconv.FormatUint(h, 10) == id
	isPrefix := len(id) >= minPrefix && len(id) <= 2*len(chain.Hash{}) && isHex(id)
	if !isHeight && !isPrefix {
		return view.Block{}, false, view.Classed(view.ErrBadInput, fmt.Errorf("%q is neither a height nor a block "+
			"hash (or %d or more of its first hex digits)", id, minPrefix))
	}
	if isHeight {
		b, err = be.Block(ctx, h)
		if !isPrefix || err != nil && !errors.Is(err, view.ErrNotFound) {
			return b, true, err
		}
		if err == nil {
			if hb, _, perr := be.FindBlock(ctx, id); perr == nil || errors.Is(perr, view.ErrAmbiguous) {
				return view.Block{}, false, fmt.Errorf("%w: %s is the height of block %s and the start of block "+
					"hash %s; give more digits of the hash, or ?from=%s&to=%s", view.ErrAmbiguous, id,
					b.Hash.Short(), hb.Hash.Short(), id, id)
			}
			return b, true, nil
		}
	}
	return be.FindBlock(ctx, id)
}

func isHex(s string) bool { return s != "" && strings.Trim(s, "0123456789abcdefABCDEF") == "" }

// resolve returns the path of the page that q names: a height, an address, or a hash or ID or a prefix of one,
// which must name exactly one block or transaction.
func (s *Server) resolve(ctx context.Context, q string) (string, error) {
	if addr, err := chain.ParseAddress(q); err == nil {
		return "/account/" + url.PathEscape(addr.String()), nil
	}
	b, _, berr := s.findBlock(ctx, q)
	if !isHex(q) || len(q) < minPrefix {
		if errors.Is(berr, view.ErrBadInput) {
			return "", view.Classed(view.ErrBadInput, fmt.Errorf("%q is not a height, a block hash or a transaction "+
				"id (or %d or more of their first hex digits), or an address", q, minPrefix))
		}
		if berr != nil {
			return "", berr
		}
		return "/block/" + strconv.FormatUint(b.Height, 10), nil
	}
	tx, terr := s.cfg.Backend.FindTx(ctx, q)
	switch {
	case berr == nil && terr == nil:
		return "", fmt.Errorf("%w: %s starts both block %s and transaction %s; give more digits", view.ErrAmbiguous,
			q, b.Hash.Short(), tx.ID.Short())
	case berr == nil && !errors.Is(terr, view.ErrAmbiguous):
		return "/block/" + b.Hash.String(), nil
	case terr == nil && !errors.Is(berr, view.ErrAmbiguous):
		return "/tx/" + tx.ID.String(), nil
	case errors.Is(berr, view.ErrAmbiguous):
		return "", berr
	case errors.Is(terr, view.ErrAmbiguous):
		return "", terr
	case errors.Is(berr, view.ErrNotFound) && errors.Is(terr, view.ErrNotFound):
		return "", fmt.Errorf("%w: no block or transaction %s", view.ErrNotFound, q)
	case !errors.Is(berr, view.ErrNotFound):
		return "", berr
	default:
		return "", terr
	}
}
