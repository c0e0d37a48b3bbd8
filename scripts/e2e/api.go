package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/posnode/posnode/internal/promtext"
)

// maxRange is the most blocks GET /api/blocks returns at once.
const maxRange = 256

// errNotFound: the API answered 404.
var errNotFound = errors.New("not found")

// client talks to one node's HTTP API.
type client struct {
	name  string // node1 …
	base  string // http://host:port
	token string // bearer token of the node's state-changing routes
	hc    *http.Client
}

func newClient(name, addr, token string) *client {
	return &client{name: name, base: "http://" + addr, token: token, hc: &http.Client{Timeout: 3 * time.Second}}
}

type status struct {
	PeerID   string `json:"peer_id"`
	Height   uint64 `json:"height"`
	Head     string `json:"head"`
	HeadSlot uint64 `json:"head_slot"`
	Slot     uint64 `json:"slot"`
	Peers    int    `json:"peers"`
	Synced   bool   `json:"synced"`
	Mempool  int    `json:"mempool"`
	Signing  string `json:"signing"` // "active", or why the node does not sign blocks now
}

type txView struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

type blockView struct {
	Hash   string   `json:"hash"`
	Height uint64   `json:"height"`
	Slot   uint64   `json:"slot"`
	Txs    []txView `json:"txs"`
}

type txStatus struct {
	Status string `json:"status"`
	Height uint64 `json:"height"`
}

type validator struct {
	Address string `json:"address"`
	Stake   uint64 `json:"stake"`
}

// do sends a request and decodes a 200 answer into out.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s %s: %w", method, path, errNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *client) status(ctx context.Context) (status, error) {
	var st status
	err := c.do(ctx, http.MethodGet, "/api/status", nil, &st)
	return st, err
}

func (c *client) block(ctx context.Context, h uint64) (blockView, error) {
	var b blockView
	err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/blocks/%d", h), nil, &b)
	return b, err
}

// chain returns the canonical blocks 1..to, fetched in ranges of at most maxRange.
func (c *client) chain(ctx context.Context, to uint64) ([]blockView, error) {
	var out []blockView
	for from := uint64(1); from <= to; from += maxRange {
		var bs []blockView
		end := min(to, from+maxRange-1)
		if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/blocks?from=%d&to=%d", from, end), nil, &bs); err != nil {
			return nil, err
		}
		if uint64(len(bs)) != end-from+1 {
			return nil, fmt.Errorf("%s: blocks %d..%d: got %d blocks", c.name, from, end, len(bs))
		}
		out = append(out, bs...)
	}
	return out, nil
}

func (c *client) tx(ctx context.Context, id string) (txStatus, error) {
	var st txStatus
	err := c.do(ctx, http.MethodGet, "/api/txs/"+id, nil, &st)
	return st, err
}

func (c *client) submitBPM(ctx context.Context, bpm uint64) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/bpm", map[string]uint64{"bpm": bpm}, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("POST /api/bpm: no id in the answer")
	}
	return out.ID, nil
}

func (c *client) validators(ctx context.Context) ([]validator, error) {
	var out struct {
		Validators []validator `json:"validators"`
	}
	err := c.do(ctx, http.MethodGet, "/api/validators", nil, &out)
	return out.Validators, err
}

// metric reads one unlabelled series from /metrics.
func (c *client) metric(ctx context.Context, name string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	v, err := promtext.Value(resp.Body, name)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.name, err)
	}
	return uint64(v), nil
}
