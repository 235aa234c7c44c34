package handlers

import "sync"

// recentlyOpened remembers, per login, the subscribers whose profile it
// opened last, newest first, for the empty search page. It lives in memory:
// it is a convenience, not a record (the audit log is that), and a page
// view writes nothing to the database.
type recentlyOpened struct {
	mu      sync.Mutex
	byLogin map[int64][]int64
}

// recentMax is how many subscribers the empty search page offers.
const recentMax = 8

func (r *recentlyOpened) note(loginID, subscriberID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byLogin == nil {
		r.byLogin = map[int64][]int64{}
	}
	ids := []int64{subscriberID}
	for _, id := range r.byLogin[loginID] {
		if id != subscriberID && len(ids) < recentMax {
			ids = append(ids, id)
		}
	}
	r.byLogin[loginID] = ids
}

func (r *recentlyOpened) of(loginID int64) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.byLogin[loginID]...)
}
