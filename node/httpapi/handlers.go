package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.cfg.Backend.Status(r.Context())
	reply(w, st, err)
}

// getBlock answers /api/blocks/{id}: id is a height or a block hash or a prefix of one (see findBlock).
func (s *Server) getBlock(w http.ResponseWriter, r *http.Request) {
	b, _, err := s.findBlock(r.Context(), r.PathValue("id"))
	reply(w, b, err)
}

func parseHeight(s string) (uint64, error) {
	h, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("a height is a whole number from 0 (the genesis) up, got %q", s)
	}
	return h, nil
}

// MaxAnswerTxs bounds the transactions (records) of one GET /api/blocks answer: it ends before the block that
// would pass it (though it always holds the first block asked for), and its Link header names the next page.
const MaxAnswerTxs = 4096

// getBlocks answers ?from=A&to=B with the canonical blocks A..B (0 is the genesis), cut at the head, and cut
// before MaxAnswerTxs transactions with a Link: <…>; rel="next" header (RFC 8288) for the rest.
func (s *Server) getBlocks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := parseHeight(q.Get("from"))
	to, err2 := parseHeight(q.Get("to"))
	if err := errors.Join(err1, err2); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("want ?from=A&to=B, e.g. ?from=0&to=10: %w", err))
		return
	}
	bs, next, err := s.cfg.Backend.BlocksPage(r.Context(), from, to, MaxAnswerTxs)
	if bs == nil {
		bs = []view.Block{}
	}
	if next != 0 {
		w.Header().Set("Link", fmt.Sprintf("</api/blocks?from=%d&to=%d>; rel=\"next\"", next, to))
	}
	reply(w, bs, err)
}

// DefaultRecords is how many records GET /api/accounts/{addr}/records answers without ?limit=.
const DefaultRecords = 100

// getRecords answers /api/accounts/{addr}/records?before=H&limit=N: the account's BPM records of the canonical
// blocks below height H (default: the head and below), newest first, at most N (default DefaultRecords), with
// next, the before of the older page. A page reads a bounded number of blocks, so it may hold fewer records and
// still have a next.
func (s *Server) getRecords(w http.ResponseWriter, r *http.Request) {
	addr, err := chain.ParseAddress(r.PathValue("addr"))
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	q := r.URL.Query()
	before, limit, err := uint64(0), uint64(DefaultRecords), error(nil)
	if q.Has("before") {
		before, err = parseUint("before", q.Get("before"))
	}
	if err == nil && q.Has("limit") {
		limit, err = parseUint("limit", q.Get("limit"))
	}
	if err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("want ?before=HEIGHT&limit=N, both optional: %w", err))
		return
	}
	recs, err := s.cfg.Backend.Records(r.Context(), addr, before, int(min(limit, 1<<20)))
	reply(w, recs, err)
}

func (s *Server) getValidators(w http.ResponseWriter, r *http.Request) {
	epoch, vals, err := s.cfg.Backend.Validators(r.Context())
	if vals == nil {
		vals = []view.Validator{}
	}
	reply(w, map[string]any{"epoch": epoch, "validators": vals}, err)
}

// getSlots answers ?from=A&to=B (epochs) with every slot of those epochs as the node saw it, or 400 for more
// slots than one answer holds; without them, the current epoch and the one before (or the current one alone when
// two do not fit).
func (s *Server) getSlots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("from") && !q.Has("to") {
		st, err := s.cfg.Backend.Status(r.Context())
		if err == nil {
			var slots []view.Slot
			slots, err = s.gridSlots(r.Context(), st)
			reply(w, slots, err)
			return
		}
		fail(w, statusOf(err), err)
		return
	}
	from, err1 := parseUint("from", q.Get("from"))
	to, err2 := parseUint("to", q.Get("to"))
	if err := errors.Join(err1, err2); err != nil {
		fail(w, http.StatusBadRequest, fmt.Errorf("want ?from=A&to=B (epochs), e.g. ?from=0&to=1: %w", err))
		return
	}
	slots, err := s.cfg.Backend.Slots(r.Context(), from, to)
	reply(w, slots, err)
}

// gridSlots returns the slots of the current epoch and the one before, or of the current one alone when the two
// are more than one answer holds (long epochs).
func (s *Server) gridSlots(ctx context.Context, st view.Status) ([]view.Slot, error) {
	slots, err := s.cfg.Backend.Slots(ctx, max(st.Epoch+1, gridEpochs)-gridEpochs, st.Epoch)
	if errors.Is(err, view.ErrBadInput) && st.Epoch > 0 {
		slots, err = s.cfg.Backend.Slots(ctx, st.Epoch, st.Epoch)
	}
	return slots, err
}

func parseUint(name, s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is a whole number from 0 up, got %q", name, s)
	}
	return v, nil
}

func (s *Server) getMempool(w http.ResponseWriter, r *http.Request) {
	m, err := s.cfg.Backend.Mempool(r.Context())
	reply(w, m, err)
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	addr, err := chain.ParseAddress(r.PathValue("addr"))
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	acct, err := s.cfg.Backend.Account(r.Context(), addr)
	reply(w, acct, err)
}

func (s *Server) getPeers(w http.ResponseWriter, _ *http.Request) {
	reply(w, s.cfg.Backend.Peers(), nil)
}

func (s *Server) getFinality(w http.ResponseWriter, r *http.Request) {
	f, err := s.cfg.Backend.Finality(r.Context())
	reply(w, f, err)
}

// getEvidence answers with the evidence the node knows: pending, then included with what it burned.
func (s *Server) getEvidence(w http.ResponseWriter, r *http.Request) {
	evs, err := s.cfg.Backend.Evidence(r.Context())
	if evs == nil {
		evs = []view.Evidence{}
	}
	reply(w, evs, err)
}

// getTx looks a transaction up by its ID or a unique prefix of at least 8 hex digits (what the prompt prints).
func (s *Server) getTx(w http.ResponseWriter, r *http.Request) {
	st, err := s.cfg.Backend.FindTx(r.Context(), r.PathValue("id"))
	reply(w, st, err)
}

// The domains of the members of the bodies the API takes, for the errors of a member of the wrong type.
var (
	bpmDomains = domains{"/bpm": fmt.Sprintf("a whole number from %d to %d", chain.MinBPM, chain.MaxBPM)}
	txDomains  = domains{
		"/tx":    fmt.Sprintf("a string of hex digits, a transaction's %d-byte encoding", chain.TxSize),
		"/txs":   fmt.Sprintf("an array of 1 to %d strings of hex digits, each a transaction's %d-byte encoding", chain.MaxTxBatch, chain.TxSize),
		"/txs/*": fmt.Sprintf("a string of hex digits, a transaction's %d-byte encoding", chain.TxSize),
	}
)

// postBPM signs a heart-rate record with the node's key: {"bpm": <1..300>}.
func (s *Server) postBPM(w http.ResponseWriter, r *http.Request) {
	var body struct {
		BPM *uint64 `json:"bpm"`
	}
	if code, err := decodeBody(w, r, &body, bpmDomains); err != nil {
		fail(w, code, err)
		return
	}
	if body.BPM == nil {
		fail(w, http.StatusBadRequest, fmt.Errorf(`want {"bpm": <%d..%d>}`, chain.MinBPM, chain.MaxBPM))
		return
	}
	id, err := s.cfg.Backend.SubmitOwn(r.Context(), chain.TxBPM, chain.Address{}, *body.BPM)
	reply(w, map[string]chain.Hash{"id": id}, err)
}

// postTx takes a transaction signed elsewhere: {"tx": "<hex of its 153-byte encoding>"} (PROTOCOL.md §3).
func (s *Server) postTx(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Tx *string `json:"tx"`
	}
	if code, err := decodeBody(w, r, &body, txDomains); err != nil {
		fail(w, code, err)
		return
	}
	var raw []byte
	var err error
	if body.Tx != nil {
		raw, err = hex.DecodeString(*body.Tx)
	}
	if body.Tx == nil || err != nil {
		fail(w, http.StatusBadRequest, errors.New(`want {"tx": "<hex encoding>"}`))
		return
	}
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	id, err := s.cfg.Backend.Submit(r.Context(), tx)
	reply(w, map[string]chain.Hash{"id": id}, err)
}

// batchResult is one transaction's outcome in the answer of POST /api/txbatch.
type batchResult struct {
	ID    chain.Hash `json:"id"`
	Error string     `json:"error,omitempty"`
}

// postTxBatch takes up to chain.MaxTxBatch transactions signed elsewhere, {"txs": ["<hex>", …]}, and answers
// {"accepted": n, "results": [{"id", "error"}, …]} in the order given, once the accepted ones are durable. A
// transaction that does not decode fails the whole request (400); one the node refuses has its error.
func (s *Server) postTxBatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Txs []string `json:"txs"`
	}
	if code, err := decodeBodyMax(w, r, &body, MaxBatchBody, txDomains); err != nil {
		fail(w, code, err)
		return
	}
	if len(body.Txs) == 0 || len(body.Txs) > chain.MaxTxBatch {
		fail(w, http.StatusBadRequest, fmt.Errorf(`want {"txs": ["<hex encoding>", …]} with 1 to %d transactions, got %d`, chain.MaxTxBatch, len(body.Txs)))
		return
	}
	txs := make([]chain.Tx, len(body.Txs))
	for i, h := range body.Txs {
		raw, err := hex.DecodeString(h)
		if err == nil {
			txs[i], err = chain.DecodeTx(raw)
		}
		if err != nil {
			fail(w, http.StatusBadRequest, fmt.Errorf("transaction %d: %w", i, err))
			return
		}
	}
	errs, err := s.cfg.Backend.SubmitBatch(r.Context(), txs)
	if err != nil {
		fail(w, statusOf(err), err)
		return
	}
	out := struct {
		Accepted int           `json:"accepted"`
		Results  []batchResult `json:"results"`
	}{Results: make([]batchResult, len(txs))}
	for i := range txs {
		out.Results[i].ID = txs[i].ID()
		if errs[i] != nil {
			out.Results[i].Error = errs[i].Error()
		} else {
			out.Accepted++
		}
	}
	writeJSON(w, http.StatusOK, out)
}
