package serve

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// event tells open pages what changed: the listing (an item appeared, vanished or changed
// status) and the items whose files changed, which a page showing them fetches again.
type event struct {
	Items   bool     `json:"items"`
	Changed []string `json:"changed"`
}

// hub fans events out to the open pages. One watcher goroutine looks at the folders every
// Poll while at least one page listens, and stops when the last one leaves.
type hub struct {
	mu       sync.Mutex
	subs     map[chan event]bool
	watching bool
}

func (s *Server) subscribe() chan event {
	ch := make(chan event, 16)
	s.hub.mu.Lock()
	s.hub.subs[ch] = true
	start := !s.hub.watching
	s.hub.watching = true
	s.hub.mu.Unlock()
	if start {
		go s.watch()
	}
	return ch
}

func (s *Server) unsubscribe(ch chan event) {
	s.hub.mu.Lock()
	delete(s.hub.subs, ch)
	s.hub.mu.Unlock()
}

// watch rescans every poll and tells subscribers what changed, until none is left.
func (s *Server) watch() {
	prev := s.catalog(s.poll)
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		s.hub.mu.Lock()
		if len(s.hub.subs) == 0 {
			s.hub.watching = false
			s.hub.mu.Unlock()
			return
		}
		s.hub.mu.Unlock()
		cur := s.catalog(s.poll / 2)
		if cur == prev {
			continue
		}
		ev := event{Items: cur.sig != prev.sig, Changed: []string{}}
		for _, it := range cur.items {
			if old := prev.get(it.ID); old == nil || old.Version != it.Version {
				ev.Changed = append(ev.Changed, it.ID)
			}
		}
		for _, it := range prev.items {
			if cur.get(it.ID) == nil {
				ev.Changed = append(ev.Changed, it.ID)
			}
		}
		prev = cur
		if !ev.Items && len(ev.Changed) == 0 {
			continue
		}
		s.hub.mu.Lock()
		for ch := range s.hub.subs {
			select {
			case ch <- ev:
			default:
				// A page that does not keep up misses this event; the next one, or its
				// own refresh of the listing, brings it up to date.
			}
		}
		s.hub.mu.Unlock()
	}
}

// events is the server-sent event stream /api/events.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	ch := s.subscribe()
	defer s.unsubscribe(ch)
	// The write deadline of an http.Server would cut the stream: lift it for this answer.
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Write([]byte("retry: 1000\n\n"))
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-keep.C:
			w.Write([]byte(": keep-alive\n\n"))
		case ev := <-ch:
			b, _ := json.Marshal(ev)
			w.Write([]byte("event: change\ndata: "))
			w.Write(b)
			w.Write([]byte("\n\n"))
		}
		fl.Flush()
	}
}
