package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
)

// submitCounter is a Backend that counts what it is asked to submit; any other call panics (the embedded nil).
type submitCounter struct {
	Backend
	mu        sync.Mutex
	submitted []chain.Hash
	own       int
}

func (b *submitCounter) Submit(_ context.Context, tx chain.Tx) (chain.Hash, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.submitted = append(b.submitted, tx.ID())
	return tx.ID(), nil
}

func (b *submitCounter) SubmitOwn(context.Context, chain.TxKind, chain.Address, uint64) (chain.Hash, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.own++
	return chain.Hash{1}, nil
}

const limitToken = "0123456789abcdef0123456789abcdef"

// limitedServer returns a server whose clients may send burst transactions and then about one an hour.
func limitedServer(t *testing.T, burst, maxClients int) (*Server, *submitCounter) {
	t.Helper()
	b := &submitCounter{}
	s, err := Listen(Config{Addr: "127.0.0.1:0", Token: limitToken, Backend: b, TxRate: 1.0 / 3600, TxBurst: burst, MaxClients: maxClients})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, b
}

// signedTxBody returns the body of POST /api/txs for a bpm record of nonce n signed by a test key.
func signedTxBody(n int) string {
	seed := sha256.Sum256([]byte("limit-test"))
	key := ed25519.NewKeyFromSeed(seed[:])
	tx := chain.Tx{Kind: chain.TxBPM, From: chain.AddressOf(key.Public().(ed25519.PublicKey)), Nonce: chain.Nonce(n), Value: 72, Fee: 1}
	tx.Sign(chain.Hash{}, key)
	return `{"tx": "` + hex.EncodeToString(tx.Encode()) + `"}`
}

func send(s *Server, path, body, remote string, token bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.RemoteAddr = remote
	r.Host = "127.0.0.1:8080"
	if token {
		r.Header.Set("Authorization", "Bearer "+limitToken)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

// TestSignedTxWithoutToken: anyone may submit a signed transaction, naming the node by any host name; signing
// with the node's key and the batch route still need the token.
func TestSignedTxWithoutToken(t *testing.T) {
	s, b := limitedServer(t, 5, 100)
	if w := send(s, "/api/txs", signedTxBody(0), "192.0.2.1:5000", false); w.Code != http.StatusOK {
		t.Fatalf("POST /api/txs without the token: got %d %s, want 200", w.Code, w.Body)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/txs", strings.NewReader(signedTxBody(1)))
	r.Host, r.RemoteAddr = "node.example.org", "192.0.2.1:5000"
	r.Header.Set("Origin", "https://wallet.example.net")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("POST /api/txs by a DNS name from a web page: got %d %s, want 200", w.Code, w.Body)
	}
	if len(b.submitted) != 2 {
		t.Errorf("submitted %d transactions, want 2", len(b.submitted))
	}
	if w := send(s, "/api/bpm", `{"bpm": 72}`, "192.0.2.1:5000", false); w.Code != http.StatusUnauthorized {
		t.Errorf("POST /api/bpm without the token: got %d %s, want 401", w.Code, w.Body)
	}
	if w := send(s, "/api/txbatch", `{"txs": ["00"]}`, "192.0.2.1:5000", false); w.Code != http.StatusUnauthorized {
		t.Errorf("POST /api/txbatch without the token: got %d %s, want 401", w.Code, w.Body)
	}
	if w := send(s, "/api/bpm", `{"bpm": 72}`, "192.0.2.1:5000", true); w.Code != http.StatusOK || b.own != 1 {
		t.Errorf("POST /api/bpm with the token: got %d %s and %d signed, want 200 and 1", w.Code, w.Body, b.own)
	}
}

// TestSignedTxRateLimit: a client without the token gets its burst, then 429 with Retry-After; another client
// is not affected; the addresses of one IPv6 /64 are one client; the operator's token is not limited.
func TestSignedTxRateLimit(t *testing.T) {
	s, b := limitedServer(t, 3, 100)
	for i := range 3 {
		if w := send(s, "/api/txs", signedTxBody(i), "198.51.100.7:4000", false); w.Code != http.StatusOK {
			t.Fatalf("request %d within the burst: got %d %s", i, w.Code, w.Body)
		}
	}
	w := send(s, "/api/txs", signedTxBody(3), "198.51.100.7:4001", false)
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), ErrRateLimited.Error()) {
		t.Fatalf("request past the burst: got %d %s, want 429 saying %q", w.Code, w.Body, ErrRateLimited)
	}
	if secs, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After: got %q, want a whole number of seconds ≥ 1", w.Header().Get("Retry-After"))
	}
	if w := send(s, "/api/txs", signedTxBody(3), "198.51.100.8:4000", false); w.Code != http.StatusOK {
		t.Errorf("another client: got %d %s, want 200", w.Code, w.Body)
	}
	if w := send(s, "/api/txs", signedTxBody(4), "198.51.100.7:4000", true); w.Code != http.StatusOK {
		t.Errorf("the limited address with the token: got %d %s, want 200", w.Code, w.Body)
	}
	codes := make([]int, 4)
	for i := range codes {
		codes[i] = send(s, "/api/txs", signedTxBody(10+i), "[2001:db8:1:2::"+strconv.Itoa(i+1)+"]:4000", false).Code
	}
	if want := []int{200, 200, 200, 429}; !slices.Equal(codes, want) {
		t.Errorf("four addresses of one IPv6 /64: got %v, want %v", codes, want)
	}
	if got := len(b.submitted); got != 3+1+1+3 {
		t.Errorf("the backend was asked %d times, want 8 (nothing refused reaches it)", got)
	}
}

// TestClientLimitsBounded: no more clients are remembered than the bound; the least recently seen is forgotten.
func TestClientLimitsBounded(t *testing.T) {
	c := newClientLimits(1.0/3600, 1, 2)
	now := time.Now()
	for _, ip := range []string{"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"} {
		if _, ok := c.allow(ip, now); !ok {
			t.Fatalf("first request of %s refused", ip)
		}
		if n := c.seen.Len(); n > 2 {
			t.Fatalf("remembers %d clients, bound 2", n)
		}
	}
	if _, ok := c.allow("10.0.0.3:1", now); ok {
		t.Error("10.0.0.3's second request passed a burst of 1")
	}
	if _, ok := c.allow("10.0.0.1:1", now); !ok {
		t.Error("10.0.0.1, the least recently seen and so forgotten, was refused")
	}
	if _, ok := c.allow("not an address", now); !ok {
		t.Error("a remote address that does not parse was refused its first request")
	}
}
