package handlers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Health checks for whatever runs the portal (a load balancer, systemd,
// Kubernetes): JSON, no sign-in, and nothing in them that is secret or
// about a customer.

// outboxStale is how long the outbox worker may go without looking at the
// outbox: it looks every few seconds, and at least every DefaultPoll.
const outboxStale = time.Minute

// retentionLate is how far behind the retention pass may fall before
// /readyz mentions it: it runs every few minutes, so a day means it fails
// or cannot keep up. The portal still does its work, so it stays ready.
const retentionLate = 24 * time.Hour

type healthAnswer struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// healthz says the process answers; it reads nothing.
func (h *Handlers) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthAnswer{Status: "ok"})
}

// readyz says whether the portal can do its work: the database takes a
// write, its schema is the one this program knows, and the outbox worker,
// when a mail server is set, ran within the last minute. 503 when not. It
// also says when the retention pass is far behind, which leaves it ready.
func (h *Handlers) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{}
	ready := true
	fail := func(check, answer string, err error) {
		ready = false
		checks[check] = answer
		if err != nil {
			h.Log.Warn("not ready", "check", check, "err", err)
		}
	}
	if err := h.Store.CheckWritable(ctx); err != nil {
		fail("database", "does not take a write", err)
	} else {
		checks["database"] = "ok"
	}
	switch current, latest, err := h.Store.SchemaVersion(ctx); {
	case err != nil:
		fail("schema", "cannot be read", err)
	case current != latest:
		fail("schema", fmt.Sprintf("version %d, this program's is %d", current, latest), nil)
	default:
		checks["schema"] = fmt.Sprintf("ok (version %d)", current)
	}
	switch {
	case h.OutboxRan == nil:
		checks["outbox"] = "held: no mail server"
	case time.Since(h.OutboxRan()) > outboxStale:
		fail("outbox", "the worker has not run for over a minute", nil)
	default:
		checks["outbox"] = "ok"
	}
	if b, err := h.Store.RetentionBacklog(ctx); err == nil {
		if behind := max(b.Usage, b.Email); behind > retentionLate {
			checks["retention"] = fmt.Sprintf("behind by %s: records or emails past their period wait (esim_retention_behind_seconds)", behind.Round(time.Hour))
		}
	}
	status, answer := http.StatusOK, healthAnswer{Status: "ready", Checks: checks}
	if !ready {
		status, answer.Status = http.StatusServiceUnavailable, "not ready"
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(status, answer)
}
