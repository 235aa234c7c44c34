package handlers

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Health checks for whatever runs the portal (a load balancer, systemd,
// Kubernetes): JSON, no sign-in, and nothing in them about a customer.
// Readiness says only ready or not to anyone; what it checked, which names
// the schema version and the mail server's state, only to a caller with the
// metrics token.

const (
	// outboxStale is how long the outbox worker may go without looking at
	// the outbox: it looks at least every DefaultPoll, however long a
	// delivery takes.
	outboxStale = time.Minute
	// deliverySlow is how long a delivery may take before readiness names
	// it: a mail server answers in seconds, and after the sender's greeting
	// and sending timeouts only the wait for the answer to a whole message
	// (up to 10 minutes) remains.
	deliverySlow = time.Minute
	// provisioningStale is how long the SM-DP+ worker may go without looking
	// for orders: it looks every few seconds, and again once the calls of
	// its last look are done, each within the client's 30 s and 10 s to
	// record its outcome.
	provisioningStale = 2 * time.Minute
)

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
// when a mail server is set, ran within the last minute. 503 when not. A
// slow mail server is reported but does not make the portal unready: the
// portal still serves, and its emails wait in the outbox. It also says when
// the retention pass is far behind, which leaves it ready.
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
	if h.Outbox == nil {
		checks["outbox"] = "held: no mail server"
	} else {
		now, status := h.Store.Now(), h.Outbox()
		if now.Sub(status.LastRun) > outboxStale {
			fail("outbox", "the worker has not run for over a minute", nil)
		} else {
			checks["outbox"] = "ok" + slowDeliveries(now, status.Delivering)
		}
	}
	if h.Provisioning == nil {
		checks["smdp"] = "off: no SM-DP+"
	} else if h.Store.Now().Sub(h.Provisioning()) > provisioningStale {
		fail("smdp", "the SM-DP+ worker has not run for over 2 minutes", nil)
	} else {
		checks["smdp"] = "ok"
	}
	if b, err := h.Store.RetentionBacklog(ctx); err == nil {
		if behind := b.Worst(); behind > retentionLate {
			checks["retention"] = fmt.Sprintf("behind by %s: records, attachments, profile events or emails past their period wait (esim_retention_behind_seconds)", behind.Round(time.Hour))
		}
	}
	status, answer := http.StatusOK, healthAnswer{Status: "ready"}
	if !ready {
		status, answer.Status = http.StatusServiceUnavailable, "not ready"
	}
	if h.hasMetricsToken(c) {
		answer.Checks = checks
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(status, answer)
}

// slowDeliveries names the deliveries that have waited over deliverySlow for
// the mail server, after the outbox's "ok"; began is oldest first.
func slowDeliveries(now time.Time, began []time.Time) string {
	n := 0
	for _, b := range began {
		if now.Sub(b) > deliverySlow {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	waited := int(now.Sub(began[0]) / time.Minute)
	if n == 1 {
		return fmt.Sprintf("; one delivery has waited %d min for the mail server", waited)
	}
	return fmt.Sprintf("; %d deliveries have waited up to %d min for the mail server", n, waited)
}

// hasMetricsToken reports whether the request carries the metrics token
// (always false while none is set).
func (h *Handlers) hasMetricsToken(c echo.Context) bool {
	token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
	return ok && h.MetricsToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(h.MetricsToken)) == 1
}
