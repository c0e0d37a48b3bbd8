//go:build linux

package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/blocksync"
	"github.com/posnode/posnode/node/httpapi"
)

// mountTmpfs mounts a tmpfs of size bytes on dir for the test, or skips the test when it cannot (not root).
func mountTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a small tmpfs to fill needs root")
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		t.Skipf("skipped: cannot mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { // detached: files a failing test left open do not keep it mounted
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// fill writes a file in dir until the file system is full and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); errors.Is(err, syscall.ENOSPC) {
			return path
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPendingLogFullDisk: on a full disk a commit fails with ErrStorage and leaves nothing in the file; later
// commits fail the same way, not with a stuck error of another kind; once space is freed the log works again
// without a reopen, and after a reopen it holds exactly the commits that succeeded.
func TestPendingLogFullDisk(t *testing.T) {
	_, keys, id := txKeysFixture(t)
	dir := t.TempDir()
	mountTmpfs(t, dir, 64<<10)
	path := filepath.Join(dir, "pending.txs")
	j := openTestLog(t, path, 0)
	ok := []chain.Tx{bpmTx(keys[0], 0, id)}
	writeTxs(t, j, ok)
	filler := fill(t, dir)
	for try := range 2 {
		b := j.Append(bpmTx(keys[0], 1, id))
		for n := range chain.Nonce(40) { // more than a page: the write needs space the disk has not
			b = j.Append(bpmTx(keys[1], n, id))
		}
		if err := j.Sync(b); !errors.Is(err, ErrStorage) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("commit %d on a full disk: got %v, want ErrStorage and ENOSPC", try, err)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ok = append(ok, bpmTx(keys[0], 1, id))
	writeTxs(t, j, ok[1:])
	j.Close()
	j = openTestLog(t, path, 2)
	got := j.Entries()
	j.Close()
	if got[1].ID() != ok[1].ID() {
		t.Fatalf("after the disk recovered: got %s second, want %s", got[1].ID().Short(), ok[1].ID().Short())
	}
}

// TestFullDiskNothingAcknowledgedOrGossiped reproduces issue class 5: the data directory of a node runs out of
// space while its user submits records. Each submission that cannot be made durable is answered 503 with the
// reason, and neither stays in the mempool nor reaches a peer (before the fix one answered 500 was committed, and
// every later one got a 422 until a restart); once space is freed, the node accepts records again by itself.
func TestFullDiskNothingAcknowledgedOrGossiped(t *testing.T) {
	c := newCluster(t, []uint64{10, 0}, 200*time.Millisecond, 0)
	mountTmpfs(t, c.homes[1], 1<<20)
	if err := SaveKey(filepath.Join(c.homes[1], KeyFile), c.keys[1]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stop(1) }) // before the unmount
	c.start(0)
	n := c.start(1, 0)
	waitFor(t, 20*time.Second, "node 1 to follow the chain", func() bool { return c.status(1).Height >= 2 })
	filler := fill(t, c.homes[1])

	refused, acked := fullDiskSubmissions(t, n)
	time.Sleep(10 * c.slot()) // node 0 proposes every slot: whatever leaked would be on its chain by now
	if leaked := c.bpmValues(0, n.Address()); hasAny(leaked, refused) {
		t.Fatalf("refused records reached node 0's chain: values %v on chain, refused %v", leaked, refused)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	code, _ := postBPM(t, n, 61)
	if code != 200 {
		t.Fatalf("after space was freed: got %d, want 200", code)
	}
	waitFor(t, 30*time.Second, "the record submitted after recovery on node 0's chain", func() bool {
		return hasAny(c.bpmValues(0, n.Address()), []uint64{61})
	})
	onChain := c.bpmValues(0, n.Address())
	if hasAny(onChain, refused) || len(onChain) != len(acked)+1 {
		t.Fatalf("node 0's chain holds bpm values %v; want the %d acknowledged while full %v and 61, none of %v",
			onChain, len(acked), acked, refused)
	}
	t.Logf("full disk: %d records acknowledged (they fit in space already allocated), %d refused with 503; none of those reached a block; after freeing space the next record was committed in %v",
		len(acked), len(refused), time.Since(freed).Round(10*time.Millisecond))
}

// fullDiskSubmissions posts bpm records to n on a full disk until five have been refused, checking that each
// refusal is a 503 that names the cause. It returns the values refused and those acknowledged.
func fullDiskSubmissions(t *testing.T, n *Node) (refused, acked []uint64) {
	t.Helper()
	for v := uint64(100); len(refused) < 5; v++ {
		if v > 200 {
			t.Fatalf("%d records acknowledged on a full disk", len(acked))
		}
		var body struct{ Error string }
		code, raw := postBPM(t, n, v)
		_ = json.Unmarshal(raw, &body)
		switch {
		case code == 200:
			acked = append(acked, v)
		case code == 503 && strings.Contains(body.Error, "no space left on device"):
			refused = append(refused, v)
			if len(refused) == 1 {
				t.Logf("refusal: %d %s", code, body.Error)
			}
		default:
			t.Fatalf("record %d on a full disk: got %d %q, want 200 or 503 naming the full disk", v, code, body.Error)
		}
	}
	var pending int
	n.call(context.Background(), func() { pending = n.pool.Len() - len(acked) })
	if pending > 0 {
		t.Fatalf("after refusals the mempool holds %d transactions beyond the acknowledged ones", pending)
	}
	return refused, acked
}

func (c *cluster) slot() time.Duration { return time.Duration(c.gen.SlotDuration) }

// bpmValues returns the values of the bpm records from addr on node i's canonical chain.
func (c *cluster) bpmValues(i int, addr chain.Address) []uint64 {
	h := c.status(i).Height
	var out []uint64
	for from := uint64(1); from <= h; from += blocksync.MaxRangeBlocks {
		bs, err := c.nodes[i].Blocks(context.Background(), from, min(h, from+blocksync.MaxRangeBlocks-1))
		if err != nil {
			c.t.Fatalf("node %d blocks: %v", i, err)
		}
		for _, b := range bs {
			for _, tx := range b.Txs {
				if tx.From == addr && tx.Kind == chain.TxBPM.String() {
					out = append(out, tx.Value)
				}
			}
		}
	}
	return out
}

func hasAny(vs, of []uint64) bool {
	for _, v := range vs {
		for _, o := range of {
			if v == o {
				return true
			}
		}
	}
	return false
}

// postBPM posts a bpm record to n's API with the bearer token from its home and returns the status and body.
func postBPM(t *testing.T, n *Node, v uint64) (int, []byte) {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(n.cfg.Home, httpapi.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", "http://"+n.HTTPAddr()+"/api/bpm", strings.NewReader(`{"bpm": `+strconv.FormatUint(v, 10)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}
