package httpapi

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

func TestGroupDigits(t *testing.T) {
	for _, tt := range []struct {
		in   uint64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}, {100000, "100,000"},
		{18446744073709551615, "18,446,744,073,709,551,615"}} {
		if got := view.GroupDigits(tt.in); got != tt.want {
			t.Errorf("view.GroupDigits(%d): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The banner shows when the finalized checkpoint lags the current epoch by more than stallEpochs, and not before.
func TestFinalityStallBanner(t *testing.T) {
	for _, tt := range []struct {
		epoch, finalized uint64
		stalled          bool
	}{{0, 0, false}, {4, 0, false}, {5, 0, true}, {1006, 1002, false}, {1007, 1002, true}} {
		st := view.Status{Epoch: tt.epoch, Finalized: chain.Checkpoint{Epoch: chain.Epoch(tt.finalized)}}
		got := stallOf(st)
		if (got != "") != tt.stalled || tt.stalled && !strings.Contains(got, "epoch "+view.GroupDigits(tt.finalized)) {
			t.Errorf("epoch %d, finalized %d: banner %q, want stalled %v", tt.epoch, tt.finalized, got, tt.stalled)
		}
	}
}

// The plot has a dot per record, filled for final ones and open for committed ones, and its min, avg and max.
func TestDrawRecords(t *testing.T) {
	page := view.Records{From: 10, To: 20, Records: []view.Record{
		{BPM: 80, Height: 20, Finality: view.BlockCommitted}, {BPM: 60, Height: 15, Finality: view.BlockFinal},
		{BPM: 70, Height: 11, Finality: view.BlockFinal}}}
	svg := string(drawRecords(page))
	for _, want := range []string{`<svg id="records"`, `class="record final"`, `class="record committed"`,
		">min 60<", ">avg 70<", ">max 80<", "<polyline"} {
		if !strings.Contains(svg, want) {
			t.Errorf("plot lacks %q:\n%s", want, svg)
		}
	}
	if n := strings.Count(svg, "<circle"); n != 3 {
		t.Errorf("plot has %d dots, want 3", n)
	}
	if drawRecords(view.Records{From: 1, To: 5}) != "" {
		t.Error("a page without records drew a plot")
	}
}

// The account page shows the records' plot and stats, groups the digits of the balance and of a transfer's
// amount (a transfer of 1000 read "1000" beside a balance of "1,000 tokens"), and says when finality stalls.
func TestAccountPageRecords(t *testing.T) {
	addr := chain.Address{7}
	be := accountBackend{readBackend: readBackend{asked: make(chan string, 8)}, addr: addr}
	s := &Server{cfg: Config{Token: "t", Backend: be}}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/account/"+addr.String(), nil))
	body := rec.Body.String()
	for _, want := range []string{`<svg id="records"`, "min 72, average 72.0, max 72 bpm", "1,234,567 tokens",
		`<td class="num">2,500</td>`, `id="stall-banner"`} {
		if rec.Code != 200 || !strings.Contains(body, want) {
			t.Errorf("account page: got %d, lacks %q", rec.Code, want)
		}
	}
}

// accountBackend is a node with one account, one record and a finality 10 epochs behind.
type accountBackend struct {
	readBackend
	addr chain.Address
}

func (b accountBackend) Status(_ context.Context) (view.Status, error) {
	return view.Status{Height: 3, Epoch: 12, Finalized: chain.Checkpoint{Epoch: 2}}, nil
}

func (b accountBackend) Account(_ context.Context, a chain.Address) (view.Account, error) {
	return view.Account{Address: a, Balance: 1234567}, nil
}

func (b accountBackend) Blocks(_ context.Context, from, to uint64) ([]view.Block, error) {
	var out []view.Block
	for h := from; h <= to; h++ {
		out = append(out, view.Block{Height: h, Slot: h})
	}
	if len(out) > 0 {
		to := b.addr
		out[0].Txs = []view.Tx{{Kind: "transfer", From: chain.Address{8}, To: &to, Value: 2500, Nonce: 4, Fee: 1}}
	}
	return out, nil
}

func (b accountBackend) StakeTables(context.Context, []uint64) ([]view.EpochTable, error) {
	return nil, nil
}

// The account page counts every block of the window the account proposed, and lists the newest 50 of them (it
// read "(50, newest 50)" for a validator that had won 82 of the 256). The window holds the genesis too.
func TestAccountPageProposedCount(t *testing.T) {
	addr := chain.Address{7}
	be := proposerBackend{accountBackend{readBackend: readBackend{asked: make(chan string, 8)}, addr: addr}}
	s := &Server{cfg: Config{Token: "t", Backend: be}}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/account/"+addr.String(), nil))
	want := "Blocks proposed in the last 91 blocks (82, the newest 50 here)"
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
		t.Errorf("account page: got %d, lacks %q", rec.Code, want)
	}
}

// proposerBackend is accountBackend at height 90, where the account proposed every block but the first eight.
type proposerBackend struct{ accountBackend }

func (b proposerBackend) Status(_ context.Context) (view.Status, error) {
	return view.Status{Height: 90, Epoch: 3, Finalized: chain.Checkpoint{Epoch: 2}}, nil
}

func (b proposerBackend) Blocks(ctx context.Context, from, to uint64) ([]view.Block, error) {
	out, err := b.accountBackend.Blocks(ctx, from, to)
	for i := range out {
		if out[i].Height > 8 {
			out[i].Proposer = b.addr
		}
	}
	return out, err
}

func (b accountBackend) Slots(context.Context, uint64, uint64) ([]view.Slot, error) { return nil, nil }

// ledBackend is accountBackend at slot 40 of epochs of 8 slots, where the account and another validator of the
// same stake lead every other slot, and the other is offline: its slots are missed.
type ledBackend struct{ accountBackend }

func (b ledBackend) Status(context.Context) (view.Status, error) {
	return view.Status{Height: 20, Slot: 40, Epoch: 5}, nil
}

func (b ledBackend) Slots(_ context.Context, from, to uint64) ([]view.Slot, error) {
	var out []view.Slot
	for s := 8 * from; s < 8*to+8; s++ {
		sl := view.Slot{Slot: s, Epoch: s / 8, State: view.SlotProposed, Leader: b.addr}
		switch {
		case s >= 40:
			sl.State = view.SlotUpcoming
		case s == 0:
			sl.Leader = chain.Address{}
		case s%2 == 1:
			sl.State, sl.Leader = view.SlotMissed, chain.Address{8}
		}
		out = append(out, sl)
	}
	return out, nil
}

func (b ledBackend) StakeTables(_ context.Context, slots []uint64) ([]view.EpochTable, error) {
	var out []view.EpochTable
	for _, s := range slots {
		out = append(out, view.EpochTable{Epoch: s / 8, FirstSlot: s / 8 * 8, LastSlot: s/8*8 + 7,
			Validators: []view.Validator{{Address: b.addr, Stake: 100}, {Address: chain.Address{8}, Stake: 100}}})
	}
	return out, nil
}

// The account page counts the slots the validator led, filled or missed, under each slot's table (issue 22,
// defect G): here 19 of the 39 slots after the genesis's, with its half share expected, inside its band.
func TestAccountPageSlotsLed(t *testing.T) {
	addr := chain.Address{7}
	be := ledBackend{accountBackend{readBackend: readBackend{asked: make(chan string, 8)}, addr: addr}}
	s := &Server{cfg: Config{Token: "t", Backend: be}}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/account/"+addr.String(), nil))
	want := "led 19 of the last 39 slots (48.7%), filled or missed; its stake shares under each slot's table give 50.0%"
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
		t.Errorf("account page: got %d, lacks %q:\n%s", rec.Code, want, rec.Body.String())
	}
}

// Issue 22's cosmetic defects (I): one token is "1 token" (the transaction page said "fee 1 tokens"); the
// search box's placeholder fits its 44 columns (it was cut at 1280 px); and a validator that waits for its
// doppelganger check says so in a banner until the slot it signs from (the page showed 46 missed slots in a
// row with nothing to say why).
func TestExplorerCosmetics(t *testing.T) {
	for _, tt := range []struct {
		in   uint64
		want string
	}{{0, "0 tokens"}, {1, "1 token"}, {2, "2 tokens"}, {1000, "1,000 tokens"}} {
		if got := view.Tokens(tt.in); got != tt.want {
			t.Errorf("view.Tokens(%d): got %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		st   view.Status
		want string // "" for no banner
	}{
		{view.Status{Slot: 300, Signing: "active"}, ""},
		{view.Status{Slot: 300, DoppelgangerWaitUntil: 343}, "waiting for the doppelganger check until slot 343 (43 slots from now)"},
		{view.Status{Slot: 343, DoppelgangerWaitUntil: 343}, ""},
	} {
		got := waitOf(tt.st)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("slot %d, waiting until %d: banner %q, want %q", tt.st.Slot, tt.st.DoppelgangerWaitUntil, got, tt.want)
		}
	}
	be := waitBackend{accountBackend{readBackend: readBackend{asked: make(chan string, 8)}, addr: chain.Address{7}}}
	s := &Server{cfg: Config{Token: "t", Backend: be}}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/account/"+chain.Address{7}.String(), nil))
	page := rec.Body.String()
	for _, want := range []string{`id="wait-banner"`, "until slot 343", "<td>1 token</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`placeholder="([^"]*)"`).FindStringSubmatch(page); m == nil || len(m[1]) > 44 {
		t.Errorf("search placeholder %q: want at most 44 characters, the box's size", m)
	}
}

// waitBackend is accountBackend for a validator of stake 1 at slot 300 that signs from slot 343.
type waitBackend struct{ accountBackend }

func (b waitBackend) Status(context.Context) (view.Status, error) {
	return view.Status{Height: 3, Slot: 300, Epoch: 9, DoppelgangerWaitUntil: 343}, nil
}

func (b waitBackend) Account(_ context.Context, a chain.Address) (view.Account, error) {
	return view.Account{Address: a, Balance: 5, Stake: 1}, nil
}
