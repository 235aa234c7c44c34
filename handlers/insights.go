package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/views"
)

// DefaultInsightsTTL is how long the Insights page shows the same figures.
const DefaultInsightsTTL = 5 * time.Minute

// insightsReadTimeout bounds one read of the figures.
const insightsReadTimeout = time.Minute

// defaultInsightsDays is the period of the funnel and the plans unless the
// address names another of views.InsightsPeriods.
const defaultInsightsDays = 30

// insightsPage is Team lead → Insights: the figures of the stock, the
// allocations, the funnel, the plans, the agents and the emails.
func (h *Handlers) insightsPage(c echo.Context) error {
	c.Set(navKey, "insights")
	days := defaultInsightsDays
	if v := c.QueryParam("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !validPeriod(n) {
			return refuse(db.ErrInvalid, "Choose a period of 7, 30 or 90 days.")
		}
		days = n
	}
	in, err := h.insights.get(c.Request().Context())
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, views.Insights(views.InsightsView{
		Insights: in, Days: days, ReorderDays: h.ReorderDays, LowStock: h.LowStock, MailHeld: h.MailHeld, TTL: h.insights.ttl,
	}))
}

func validPeriod(days int) bool { return slices.Contains(views.InsightsPeriods, days) }

// insightsCache keeps the figures of the Insights page, so that a request
// does not read every allocation and plan of the last three months. The
// rule:
//
//   - Figures younger than ttl (by the store's clock, from the moment they
//     were read) are shown as they are.
//   - Older figures are still shown, and one fresh read starts in the
//     background; the next request after it ends shows the new figures.
//   - With no figures yet, or after drop (an import of eSIMs through the
//     portal: the lead who imported expects to see the stock it added), a
//     request waits for a fresh read.
//
// One read runs at a time, however many requests ask. The page says when
// its figures were read.
type insightsCache struct {
	read func(ctx context.Context) (*db.Insights, error)
	now  func() time.Time
	ttl  time.Duration
	log  *slog.Logger

	mu      sync.Mutex
	last    *db.Insights
	gen     int           // counts drops; a read started before the last drop is not fresh
	stale   bool          // set by drop until a read started after it ends
	err     error         // of the last read
	running chan struct{} // closed when the running read ends; nil when none runs
}

func newInsightsCache(s *db.Store, log *slog.Logger) *insightsCache {
	return &insightsCache{read: s.Insights, now: func() time.Time { return s.Now() }, ttl: DefaultInsightsTTL, log: log}
}

// get returns the figures to show now, as the rule above says.
func (c *insightsCache) get(ctx context.Context) (*db.Insights, error) {
	c.mu.Lock()
	for {
		if c.last != nil && !c.stale {
			if c.now().Sub(c.last.At) >= c.ttl {
				c.refresh()
			}
			in := c.last
			c.mu.Unlock()
			return in, nil
		}
		done := c.refresh()
		c.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return nil, err
		}
	}
}

// drop makes the next request wait for figures read after now.
func (c *insightsCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.stale = true
}

// refresh starts a read unless one runs, and returns the channel closed when
// the running read ends. c.mu is held.
func (c *insightsCache) refresh() chan struct{} {
	if c.running != nil {
		return c.running
	}
	done := make(chan struct{})
	c.running = done
	gen := c.gen
	go func() {
		defer close(done)
		// Not the request's context: the read serves the requests after it
		// too, and the one that started it may have gone.
		ctx, cancel := context.WithTimeout(context.Background(), insightsReadTimeout)
		defer cancel()
		in, err := c.read(ctx)
		c.mu.Lock()
		defer c.mu.Unlock()
		c.running, c.err = nil, err
		if err != nil {
			c.log.Error("insights: read the figures", "err", err)
			return
		}
		c.last = in
		if gen == c.gen {
			c.stale = false
		}
	}()
	return done
}
