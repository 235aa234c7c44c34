package handlers_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// TestHangUpsFailNoNeighbour: agents submit Add lines while others close the
// tab a few milliseconds after sending theirs. Every Add line whose agent
// waited is committed (303, its line there), none answers 500, and every
// allocation, the hung-up ones' included, is whole: its plan and its emails.
func TestHangUpsFailNoNeighbour(t *testing.T) {
	const steady, hangers, each = 8, 8, 60
	app := newBenchApp(t, (steady+hangers)*each, portaltest.Options{})
	sign := func() *portaltest.Client {
		c, err := portaltest.SignedIn(app.URL, app.transport, demo.AgentEmail, demo.AgentPassword)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	for w := range steady {
		c := sign()
		wg.Go(func() {
			for _, id := range app.subscribers[w*each : (w+1)*each] {
				if err := addLine(c, id, app.planID); err != nil {
					mu.Lock()
					problems = append(problems, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	for w := range hangers {
		c := sign()
		wg.Go(func() {
			for _, id := range app.subscribers[(steady+w)*each : (steady+w+1)*each] {
				hangUpAddLine(c, id, app.planID, time.Duration(rand.IntN(9))*time.Millisecond)
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	var waited, whole, broken int
	err := app.Raw.QueryRow(`SELECT
		(SELECT count(*) FROM esims WHERE state = 'allocated' AND subscriber_id BETWEEN ?1 AND ?2),
		(SELECT count(*) FROM esims e WHERE e.state = 'allocated' AND e.subscriber_id >= ?1
			AND (SELECT count(*) FROM esim_plans p WHERE p.iccid = e.iccid) = 1
			AND (SELECT count(*) FROM outbox o WHERE o.iccid = e.iccid) = 2),
		(SELECT count(*) FROM esims e WHERE e.state = 'allocated' AND e.subscriber_id >= ?1
			AND ((SELECT count(*) FROM esim_plans p WHERE p.iccid = e.iccid) <> 1 OR (SELECT count(*) FROM outbox o WHERE o.iccid = e.iccid) <> 2))`,
		app.subscribers[0], app.subscribers[steady*each-1]).Scan(&waited, &whole, &broken)
	if err != nil {
		t.Fatal(err)
	}
	if waited != steady*each {
		t.Errorf("%d of the %d Add lines whose agents waited are committed", waited, steady*each)
	}
	if broken != 0 {
		t.Errorf("%d allocations without exactly their plan and two emails", broken)
	}
	t.Logf("%d allocations in all, %d by agents who hung up", whole, whole-waited)
}

// hangUpAddLine sends an Add line and goes away after wait, whatever came back.
func hangUpAddLine(c *portaltest.Client, subscriberID, planID int64, wait time.Duration) {
	token := make([]byte, 18)
	for i := range token {
		token[i] = byte(rand.IntN(256))
	}
	form := url.Values{"_csrf": {c.CSRF}, "token": {base64.RawURLEncoding.EncodeToString(token)},
		"line_name": {"France"}, "plan": {strconv.FormatInt(planID, 10)}}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/subscribers/%d/lines", c.URL, subscriberID),
		strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	if resp, err := c.HTTP.Do(req); err == nil {
		resp.Body.Close()
	}
}
