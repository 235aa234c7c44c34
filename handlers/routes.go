package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/carrier/esim-admin/db"
)

// Routes is the map of the portal: every address, who may use it, and the
// handler that answers it. The middleware every request passes through is
// in middleware.go.
func (h *Handlers) Routes() *echo.Echo {
	e := h.newServer()
	csrf := h.csrf()

	// Operations: health for load balancers, metrics for Prometheus (with
	// their own bearer token); no sign-in, no CSRF cookie.
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/metrics", h.serveMetrics)

	// Front-end files and sign-in: open to all.
	e.GET("/static/:name", serveStatic)
	signInForm := readForm(func(echo.Context) int64 { return signInBodyLimit })
	e.GET("/login", h.signInPage, h.ssoOnly, signInForm, csrf)
	e.POST("/login", h.signIn, signInForm, csrf)
	e.GET("/login/oidc", h.startSSO)
	e.GET("/login/oidc/callback", h.finishSSO)

	app := e.Group("", h.requireLogin, readForm(signedInBodyLimit), csrf)
	app.POST("/logout", h.signOut)
	app.GET("/account/password", h.passwordPage)
	app.POST("/account/password", h.changePassword)
	app.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/subscribers") })

	// Subscribers and their eSIM lines.
	app.GET("/subscribers", h.searchSubscribers)
	app.GET("/subscribers/:id", h.subscriberProfile)
	app.POST("/subscribers/:id/plan-notices", h.setPlanNotices)
	app.GET("/subscribers/:id/lines/new", h.addLineForm)
	app.POST("/subscribers/:id/lines", h.addLine)
	app.POST("/esims/:iccid/resend-qr", h.resendQR)
	app.GET("/esims/:iccid/plans/new", h.addPlanForm)
	app.POST("/esims/:iccid/plans", h.addPlan)
	// The support toolkit on a line.
	app.GET("/esims/:iccid/plans/:plan/cancel", h.cancelPlanForm)
	app.POST("/esims/:iccid/plans/:plan/cancel", h.cancelPlan)
	app.GET("/esims/:iccid/replace", h.replaceESIMForm)
	app.POST("/esims/:iccid/replace", h.replaceESIM)
	app.GET("/esims/:iccid/name", h.renameLineForm)
	app.POST("/esims/:iccid/name", h.renameLine)

	// The eSIM inventory.
	app.GET("/esims/:iccid", h.esimPage)
	app.POST("/esims/:iccid/activation-code", h.showESIMCode)

	// eSIM → List: the whole inventory, filtered and paged, its stock and its
	// CSV export; team leads import deliveries and retire free eSIMs.
	app.GET("/esims", h.esimList)
	app.GET("/esims.csv", h.esimListCSV, requireLead) // every subscriber's name in one file: leads only
	app.GET("/esims/import", h.importPage, requireLead)
	app.POST("/esims/import", h.importInventory, requireLead)
	app.POST("/esims/:iccid/retire", h.retireESIM, requireLead)

	// The plan catalog: every login reads it; team leads change it.
	app.GET("/plans", h.plansPage)
	app.GET("/plans/new", h.newPlanForm, requireLead)
	app.POST("/plans", h.addPlanToCatalog, requireLead)
	app.GET("/plans/:code", h.editPlanForm, requireLead)
	app.POST("/plans/:code", h.savePlan, requireLead)
	app.POST("/plans/:code/withdraw", h.withdrawPlan, requireLead)
	app.POST("/plans/:code/on-sale", h.putPlanOnSale, requireLead)
	app.POST("/plans/:code/delete", h.deletePlan, requireLead)

	// The outbox: what was sent to customers.
	app.GET("/emails/:id", h.emailPreview)
	app.GET("/emails/:id/body", h.emailBody)
	app.GET("/emails/:id/qr.png", h.emailQR)
	app.POST("/emails/:id/activation-code", h.showEmailCode)
	app.POST("/emails/:id/retry", h.retryEmail)

	// Team leads only: logins, the audit log and the insights. requireLead goes on each
	// route, not on a group: a group's middleware also guards its catch-all
	// not-found route, which would turn every unknown page into a 403.
	app.GET("/users", h.usersPage, requireLead)
	app.POST("/users", h.addUser, requireLead)
	app.GET("/users/:id", h.loginPage, requireLead)
	app.POST("/users/:id/disabled", h.setUserDisabled, requireLead)
	app.POST("/users/:id/password", h.resetPassword, requireLead)
	app.POST("/users/:id/break-glass", h.setBreakGlass, requireLead)
	app.GET("/audit", h.auditPage, requireLead)
	app.GET("/audit.csv", h.auditCSV, requireLead)
	app.GET("/insights", h.insightsPage, requireLead)
	app.GET("/integrations", h.integrationsPage, requireLead)
	app.POST("/integrations", h.addAPIClient, requireLead)
	app.POST("/integrations/:id/revoke", h.revokeAPIClient, requireLead)
	app.GET("/subscribers/over-allowance", h.overAllowancePage, requireLead)

	// Plan lifecycle. The network API: networks and the SM-DP+ report
	// attachments, data usage and profile events with a bearer token, outside the
	// sign-in group; unknown /api/ addresses answer in JSON too. In the demo,
	// a team lead can stand in for the network from an eSIM's page.
	network := h.requireScope(db.ScopeNetwork)
	e.POST("/api/v1/attach", h.apiAttach, network)
	e.POST("/api/v1/profile-events", h.apiProfileEvent, network)
	e.POST("/api/v1/usage", h.apiUsage, network)
	// Billing keeps the subscribers and their home plans in step.
	subscribers := h.requireScope(db.ScopeSubscribers)
	e.PUT("/api/v1/subscribers/:account_number", h.apiPutSubscriber, subscribers)
	e.GET("/api/v1/subscribers/:account_number", h.apiGetSubscriber, subscribers)
	e.POST("/api/v1/subscribers", h.apiPostSubscribers, subscribers)
	// The catalog API: the carrier's product system keeps the plans.
	catalog := h.requireScope(db.ScopeCatalog)
	e.GET("/api/v1/plans", h.apiPlans, catalog)
	e.GET("/api/v1/plans/:code", h.apiPlan, catalog)
	e.PUT("/api/v1/plans/:code", h.apiPutPlan, catalog)
	e.RouteNotFound("/api/*", h.apiNotFound)
	if h.Demo {
		app.POST("/esims/:iccid/simulate-attach", h.simulateAttach, requireLead)
		app.POST("/esims/:iccid/simulate-usage", h.simulateUsage, requireLead)
	}

	return e
}
