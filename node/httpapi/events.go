package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/posnode/posnode/chain"
)

// Event is a change of the node's chain, sent to GET /api/events as a server-sent event named by Kind.
type Event struct {
	Kind     string     `json:"-"` // "head", "reorg" or "finality"
	Height   uint64     `json:"height"`
	Slot     uint64     `json:"slot"`
	Hash     chain.Hash `json:"hash"`
	Depth    int        `json:"depth,omitempty"` // reorg: blocks abandoned
	Proposer string     `json:"proposer,omitempty"`
	Txs      int        `json:"txs"`
	// Justified and Finalized are the head's checkpoints (PROTOCOL.md §8a); a finality event, sent when either
	// moves, carries them.
	Justified *chain.Checkpoint `json:"justified,omitempty"`
	Finalized *chain.Checkpoint `json:"finalized,omitempty"`
}

// subscriberBuffer is how many events wait for a slow reader before it misses some (it then reloads).
const subscriberBuffer = 64

// hub fans events out to the open event streams; Publish never blocks its caller (the node's event loop).
type hub struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

func (h *hub) subscribe() chan Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[chan Event]struct{}{}
	}
	c := make(chan Event, subscriberBuffer)
	h.subs[c] = struct{}{}
	return c
}

func (h *hub) unsubscribe(c chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, c)
}

// Publish sends ev to every open stream; a stream whose buffer is full misses it.
func (s *Server) Publish(ev Event) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	for c := range s.hub.subs {
		select {
		case c <- ev:
		default:
		}
	}
}

// getEvents streams chain events (text/event-stream) until the client leaves or the server stops; a comment
// every 15 s keeps proxies from closing an idle stream.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		fail(w, http.StatusInternalServerError, fmt.Errorf("streaming unsupported"))
		return
	}
	c := s.hub.subscribe()
	defer s.hub.unsubscribe(c)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": posnode events\n\n")
	flusher.Flush()
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev := <-c:
			data, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Kind, data)
		}
		flusher.Flush()
	}
}
