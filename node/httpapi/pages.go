package httpapi

import (
	"context"
	"errors"
	"fmt"
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

// getBlockPage shows /block/{id}: id is a height (the canonical block there) or a block hash (any stored block).
func (s *Server) getBlockPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.cfg.Backend.Status(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	pg := blockPage{frame: frameOf(st, false), Head: st.Height, Canonical: true}
	id := r.PathValue("id")
	if h, perr := strconv.ParseUint(id, 10, 64); perr == nil && len(id) < 2*len(chain.Hash{}) {
		pg.Block, err = s.cfg.Backend.Block(r.Context(), h)
	} else if hash, herr := chain.ParseHash(strings.ToLower(id)); herr == nil {
		pg.Block, pg.Canonical, err = s.cfg.Backend.BlockByHash(r.Context(), hash)
	} else {
		err = view.Classed(view.ErrBadInput, fmt.Errorf("%q is neither a height nor a block hash (64 hex digits)", id))
	}
	if err != nil {
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
	Share    *share // its row of the stake-against-wins panel, if it is in the stake table
	Window   int    // blocks searched for its activity
	Proposed []view.Block
	Txs      []accountTx
}

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
	_, vals, err3 := b.Validators(ctx)
	if err := errors.Join(err1, err2, err3); err != nil {
		return accountPage{}, err
	}
	pg := accountPage{frame: frameOf(st, false), Account: acct, Window: len(blocks)}
	for _, row := range measureFairness(vals, blocks).Rows {
		if row.Address == addr {
			pg.Share = &row
		}
	}
	for i := len(blocks) - 1; i >= 0; i-- {
		blk := blocks[i]
		if blk.Height > 0 && blk.Proposer == addr && len(pg.Proposed) < maxAccountRows {
			pg.Proposed = append(pg.Proposed, blk)
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
// transaction ID or a prefix of one (8 or more hex digits), or an address. Text that names nothing gets a page
// that says so (404), or 409 for a prefix that several transactions share.
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

// resolve returns the path of the page that q names. Digits without leading zeros are a height when there is a
// block at that height (a transaction prefix may be all digits too); 64 hex digits are a block hash when a block
// has it, else a transaction ID.
func (s *Server) resolve(ctx context.Context, q string) (string, error) {
	b := s.cfg.Backend
	if h, err := strconv.ParseUint(q, 10, 64); err == nil && strconv.FormatUint(h, 10) == q {
		if _, err := b.Block(ctx, h); err == nil || len(q) < 8 {
			return "/block/" + strconv.FormatUint(h, 10), err
		}
	}
	if addr, err := chain.ParseAddress(q); err == nil {
		return "/account/" + url.PathEscape(addr.String()), nil
	}
	if hash, err := chain.ParseHash(strings.ToLower(q)); err == nil {
		if _, _, err := b.BlockByHash(ctx, hash); err == nil {
			return "/block/" + hash.String(), nil
		}
	}
	tx, err := b.FindTx(ctx, q)
	switch {
	case err == nil:
		return "/tx/" + tx.ID.String(), nil
	case errors.Is(err, view.ErrBadInput):
		return "", view.Classed(view.ErrBadInput, fmt.Errorf("%q is not a height, a block hash, a transaction id "+
			"(or 8 or more of its first hex digits) or an address", q))
	default:
		return "", err
	}
}
