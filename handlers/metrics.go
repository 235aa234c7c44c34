package handlers

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/carrier/esim-admin/db"
)

// metricsStore is what the metrics read from the store at each scrape.
type metricsStore interface {
	StockSummary(ctx context.Context) ([]db.ProfileStock, error)
	OutboxStats(ctx context.Context) (db.OutboxStats, error)
	RetentionBacklog(ctx context.Context) (db.RetentionBacklog, error)
	SMDPOrderStats(ctx context.Context) (db.SMDPOrderStats, error)
}

// Metrics are the portal's Prometheus metrics, in a registry of their own
// (not the global one: tests run several portals in one process). The
// counters and histograms move as things happen; the stock and the outbox
// are read from the store when /metrics is scraped.
type Metrics struct {
	registry *prometheus.Registry

	requests       *prometheus.HistogramVec
	writeWait      prometheus.Histogram
	batchChanges   prometheus.Histogram
	commitTime     prometheus.Histogram
	commitFailures prometheus.Counter
	allocations    prometheus.Counter
	usageRecords   *prometheus.CounterVec
	signinFailures prometheus.Counter
	backupLast     prometheus.Gauge
	backupFailures prometheus.Counter
	retained       *prometheus.CounterVec
	retentionTook  *prometheus.HistogramVec
	retentionMax   prometheus.Gauge
	longestMu      sync.Mutex
	longest        time.Duration // what retentionMax says
	smdpCalls      *prometheus.CounterVec
	es2Received    *prometheus.CounterVec
}

// NewMetrics makes the metrics of a portal over store. Hand ObserveCommit
// to the store's Observe so the committer's batches are counted too.
func NewMetrics(store metricsStore) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "esim_http_request_duration_seconds",
			Help:    "Time to answer a request, by route pattern, method and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		writeWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "esim_store_write_wait_seconds",
			Help:    "Time a change waited for the store's committer: the write queue.",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		batchChanges: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "esim_store_commit_batch_changes",
			Help:    "Changes that shared one commit (one fsync) of the committer.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "esim_store_commit_duration_seconds",
			Help:    "Time of a batch from BEGIN to the end of its COMMIT, fsync included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "esim_store_commit_failures_total", Help: "Batches of the committer that did not commit.",
		}),
		allocations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "esim_allocations_total", Help: "eSIMs allocated by Add line.",
		}),
		usageRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "esim_usage_records_total", Help: "Usage records the networks reported, applied or already seen.",
		}, []string{"result"}),
		signinFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "esim_signin_failures_total", Help: "Sign-ins refused for a wrong email or password.",
		}),
		backupLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "esim_backup_last_success_timestamp_seconds", Help: "When the last backup into -backup-dir was made (Unix time); 0 before any.",
		}),
		backupFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "esim_backup_failures_total", Help: "Backups into -backup-dir that failed.",
		}),
		retained: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "esim_retention_done_total",
			Help: "What the retention pass did: usage records (usage), attachments (attachment) and profile events (profile_event) rolled up, email texts removed (email), pages given back to the file system (vacuum).",
		}, []string{"kind"}),
		retentionTook: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "esim_retention_change_seconds",
			Help:    "Time one change of the retention pass held the writer, from its start to its commit.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"kind"}),
		retentionMax: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "esim_retention_longest_change_seconds", Help: "The longest change of the retention pass since the portal started.",
		}),
		smdpCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "esim_smdp_calls_total", Help: "ES2+ calls to the SM-DP+, by function and result: ok, failed (the SM-DP+ refused), transport (outcome unknown, retried).",
		}, []string{"function", "result"}),
		es2Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "esim_es2_notifications_total", Help: "handleDownloadProgressInfo received from the SM-DP+, by result: recorded, duplicate, rejected, error.",
		}, []string{"result"}),
	}
	for _, kind := range []string{"usage", "attachment", "profile_event", "email", "vacuum"} {
		m.retained.WithLabelValues(kind)
	}
	m.usageRecords.WithLabelValues("applied")
	m.usageRecords.WithLabelValues("duplicate")
	m.registry.MustRegister(m.requests, m.writeWait, m.batchChanges, m.commitTime, m.commitFailures,
		m.allocations, m.usageRecords, m.signinFailures, m.backupLast, m.backupFailures,
		m.retained, m.retentionTook, m.retentionMax, m.smdpCalls, m.es2Received, storeCollector{store},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveCommit counts one batch of the store's committer; it is the
// store's Observe.
func (m *Metrics) ObserveCommit(b db.Batch) {
	for _, w := range b.Waited {
		m.writeWait.Observe(w.Seconds())
	}
	m.batchChanges.Observe(float64(len(b.Waited)))
	m.commitTime.Observe(b.Took.Seconds())
	if b.Failed {
		m.commitFailures.Inc()
	}
}

// BackupDone counts a backup the portal made on its timer, or failed to.
func (m *Metrics) BackupDone(at time.Time, err error) {
	if err != nil {
		m.backupFailures.Inc()
		return
	}
	m.backupLast.Set(float64(at.Unix()))
}

// RetentionStep counts one change of the store's retention pass; it is the
// pass's step.
func (m *Metrics) RetentionStep(st db.RetentionStep) {
	m.retained.WithLabelValues(st.Kind).Add(float64(st.Done))
	m.retentionTook.WithLabelValues(st.Kind).Observe(st.Took.Seconds())
	m.longestMu.Lock()
	defer m.longestMu.Unlock()
	if st.Took > m.longest {
		m.longest = st.Took
		m.retentionMax.Set(st.Took.Seconds())
	}
}

// SMDPCall counts one ES2+ call to the SM-DP+; it is the provisioning
// worker's Observe.
func (m *Metrics) SMDPCall(function, result string) {
	m.smdpCalls.WithLabelValues(function, result).Inc()
}

// countUsage counts the records of a usage report by what became of them.
func (m *Metrics) countUsage(results []db.UsageResult) {
	for _, r := range results {
		if r.Duplicate {
			m.usageRecords.WithLabelValues("duplicate").Inc()
		} else {
			m.usageRecords.WithLabelValues("applied").Inc()
		}
	}
}

var (
	stockDesc = prometheus.NewDesc("esim_stock", "eSIMs of the inventory, by IMSI profile and state.",
		[]string{"imsi_profile", "state"}, nil)
	outboxQueuedDesc = prometheus.NewDesc("esim_outbox_queued", "Emails waiting in the outbox (held, with no mail server).", nil, nil)
	outboxAgeDesc    = prometheus.NewDesc("esim_outbox_oldest_queued_age_seconds",
		"Age of the oldest email waiting in the outbox; 0 when none waits.", nil, nil)
	outboxFailedDesc    = prometheus.NewDesc("esim_outbox_failed", "Emails that failed for good.", nil, nil)
	retentionBehindDesc = prometheus.NewDesc("esim_retention_behind_seconds",
		"How long ago the oldest usage record (usage), attachment (attachment), profile event (profile_event) or sent email (email) still kept whole passed its retention period: the pass's backlog; 0 when none waits.",
		[]string{"kind"}, nil)
	smdpWaitingDesc = prometheus.NewDesc("esim_smdp_orders_waiting", "eSIMs whose order waits for the SM-DP+ (to release or cancel).", nil, nil)
	smdpAgeDesc     = prometheus.NewDesc("esim_smdp_oldest_waiting_age_seconds",
		"Age of the oldest order waiting for the SM-DP+; 0 when none waits.", nil, nil)
	smdpRefusedDesc = prometheus.NewDesc("esim_smdp_orders_refused", "eSIMs the SM-DP+ refused, for good.", nil, nil)
	scrapeErrorDesc = prometheus.NewDesc("esim_store_scrape_error", "1 when the store could not be read for this scrape.", nil, nil)
)

// storeCollector reads the stock and the outbox at each scrape: a few index
// reads (the stock counts are kept, the outbox has indexes for it).
type storeCollector struct{ store metricsStore }

func (storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{stockDesc, outboxQueuedDesc, outboxAgeDesc, outboxFailedDesc, retentionBehindDesc, smdpWaitingDesc, smdpAgeDesc, smdpRefusedDesc, scrapeErrorDesc} {
		ch <- d
	}
}

func (sc storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := 0.0
	if stock, err := sc.store.StockSummary(ctx); err != nil {
		failed = 1
	} else {
		for _, ps := range stock {
			p := strconv.Itoa(ps.IMSIProfile)
			ch <- prometheus.MustNewConstMetric(stockDesc, prometheus.GaugeValue, float64(ps.Free), p, db.StateFree)
			ch <- prometheus.MustNewConstMetric(stockDesc, prometheus.GaugeValue, float64(ps.Allocated), p, db.StateAllocated)
			ch <- prometheus.MustNewConstMetric(stockDesc, prometheus.GaugeValue, float64(ps.Retired), p, db.StateRetired)
		}
	}
	if st, err := sc.store.OutboxStats(ctx); err != nil {
		failed = 1
	} else {
		age := 0.0
		if !st.OldestQueued.IsZero() {
			age = max(time.Since(st.OldestQueued).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(outboxQueuedDesc, prometheus.GaugeValue, float64(st.Queued))
		ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age)
		ch <- prometheus.MustNewConstMetric(outboxFailedDesc, prometheus.GaugeValue, float64(st.Failed))
	}
	if b, err := sc.store.RetentionBacklog(ctx); err != nil {
		failed = 1
	} else {
		ch <- prometheus.MustNewConstMetric(retentionBehindDesc, prometheus.GaugeValue, b.Usage.Seconds(), "usage")
		ch <- prometheus.MustNewConstMetric(retentionBehindDesc, prometheus.GaugeValue, b.Attachment.Seconds(), "attachment")
		ch <- prometheus.MustNewConstMetric(retentionBehindDesc, prometheus.GaugeValue, b.ProfileEvent.Seconds(), "profile_event")
		ch <- prometheus.MustNewConstMetric(retentionBehindDesc, prometheus.GaugeValue, b.Email.Seconds(), "email")
	}
	if st, err := sc.store.SMDPOrderStats(ctx); err != nil {
		failed = 1
	} else {
		ch <- prometheus.MustNewConstMetric(smdpWaitingDesc, prometheus.GaugeValue, float64(st.Waiting))
		ch <- prometheus.MustNewConstMetric(smdpAgeDesc, prometheus.GaugeValue, st.OldestAge.Seconds())
		ch <- prometheus.MustNewConstMetric(smdpRefusedDesc, prometheus.GaugeValue, float64(st.Refused))
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, failed)
}

// measureRequests times every request by its route pattern, never its raw
// path, so an ICCID in a path does not make a series of its own; what no
// route of the table matched is "unmatched". It hands an error to the error
// handler itself, so the status it records is the one sent.
func (h *Handlers) measureRequests() echo.MiddlewareFunc {
	var once sync.Once
	routes := map[string]bool{} // the table's patterns, read at the first request, once the table is made
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			once.Do(func() {
				for _, r := range c.Echo().Routes() {
					if r.Method != echo.RouteNotFound {
						routes[r.Path] = true
					}
				}
			})
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			route := c.Path()
			if !routes[route] {
				route = "unmatched"
			}
			code := strconv.Itoa(c.Response().Status/100) + "xx"
			h.Metrics.requests.WithLabelValues(route, c.Request().Method, code).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// serveMetrics answers a scraper that has the metrics token: 404 while no
// token is set, 401 without the right one.
func (h *Handlers) serveMetrics(c echo.Context) error {
	if h.MetricsToken == "" {
		return refuse(db.ErrNotFound, "")
	}
	if !h.hasMetricsToken(c) {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="metrics"`)
		return refuse(db.ErrUnauthenticated, "")
	}
	promhttp.HandlerFor(h.Metrics.registry, promhttp.HandlerOpts{}).ServeHTTP(c.Response(), c.Request())
	return nil
}
