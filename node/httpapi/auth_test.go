package httpapi_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/posnode/posnode/node/httpapi"
	"github.com/posnode/posnode/node/view"
)

// A state-changing route needs the token, a host that no DNS name could have been rebound to, and no foreign
// origin, except POST /api/txs, which a signature authorises (ratelimit_test.go); read-only routes need none of it.
func TestAPIAuth(t *testing.T) {
	n := startNode(t)
	addr := n.HTTPAddr()
	bpm := `{"bpm": 70}`
	tests := []struct {
		name string
		rq   request
		code int
	}{
		{"no token", request{method: "POST", path: "/api/bpm", body: bpm}, 401},
		{"wrong token", request{method: "POST", path: "/api/bpm", body: bpm,
			header: map[string]string{"Authorization": "Bearer " + n.token[:len(n.token)-1] + "x"}}, 401},
		{"basic auth", request{method: "POST", path: "/api/bpm", body: bpm,
			header: map[string]string{"Authorization": "Basic " + n.token}}, 401},
		{"rebound host", request{method: "POST", path: "/api/bpm", body: bpm, auth: true, host: "evil.example:8080"}, 403},
		{"cross-site origin", request{method: "POST", path: "/api/bpm", body: bpm, auth: true,
			header: map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}}, 403},
		{"null origin", request{method: "POST", path: "/api/bpm", body: bpm, auth: true,
			header: map[string]string{"Origin": "null"}}, 403},
		{"signed tx without token: decoded, not refused for want of it", request{method: "POST", path: "/api/txs",
			body: `{"tx": "00"}`}, 400},
		{"tx batch without token", request{method: "POST", path: "/api/txbatch", body: `{"txs": ["00"]}`}, 401},
		{"same-host origin", request{method: "POST", path: "/api/bpm", body: bpm, auth: true,
			header: map[string]string{"Origin": "http://" + addr}}, 200},
		{"localhost name", request{method: "POST", path: "/api/bpm", body: `{"bpm": 71}`, auth: true,
			host: "localhost:1"}, 200},
		{"read without token, from anywhere", request{method: "GET", path: "/api/status", host: "evil.example",
			header: map[string]string{"Origin": "http://evil.example"}}, 200},
	}
	for _, tt := range tests {
		var out map[string]any
		resp := n.do(t, tt.rq, &out)
		if resp.StatusCode != tt.code {
			t.Errorf("%s: got %d %v, want %d", tt.name, resp.StatusCode, out, tt.code)
		}
		if tt.code == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.name)
		}
	}
	var acct view.Account
	if n.get(t, "/api/accounts/"+n.Address().String(), &acct); acct.Nonce+uint64(acct.Pending) != 2 {
		t.Errorf("account after the requests: %+v; want exactly the two allowed records", acct)
	}
}

// The token is created once, readable by its owner only, and the same on every later start.
func TestLoadOrCreateToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", httpapi.TokenFile)
	tok, created, err := httpapi.LoadOrCreateToken(path)
	if err != nil || !created || len(tok) != 64 {
		t.Fatalf("first: got %q created %v err %v; want a new 64-digit token", tok, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode: %v %v; want 0600", fi.Mode(), err)
	}
	again, created, err := httpapi.LoadOrCreateToken(path)
	if err != nil || created || again != tok {
		t.Errorf("second: got %q created %v err %v; want the same token", again, created, err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := httpapi.LoadOrCreateToken(path); err == nil {
		t.Errorf("a token file holding %q was accepted", "short")
	}
}
