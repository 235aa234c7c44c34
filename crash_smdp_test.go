package main

import (
	"crypto/rand"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers/portaltest"
	"github.com/carrier/esim-admin/smdp"
	"github.com/carrier/esim-admin/smdp/smdptest"
)

// crashSMDPKillAfter is how many confirmOrders the SM-DP+ has received when
// the program is killed: some profiles are released then, some ordered,
// some not yet.
const crashSMDPKillAfter = 15

// TestCrashDuringProvisioning kills the program with SIGKILL while Add
// lines stream in and the provisioning worker calls the SM-DP+, restarts
// it, and checks that no QR email is ever queued without its confirmOrder,
// that the restarted worker releases every profile the first left, and
// that none is ordered or released twice.
func TestCrashDuringProvisioning(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real program; skipped with -short")
	}
	bin, addr, dbPath, stream, check := prepareCrash(t)

	fake := smdptest.StartTB(t)
	pki := fake.PKI
	// Slow answers keep calls in flight, so the kill finds some.
	for range crashSubscribers {
		fake.Fail(smdp.FuncConfirmOrder, smdptest.Fault{Kind: smdptest.FaultSlow, Delay: 5 * time.Millisecond})
	}
	flags := []string{"-smdp-url", fake.URL, "-smdp-requester-id", "carrier", "-smdp-cert", pki.PortalClientCert,
		"-smdp-key", pki.PortalClientKey, "-smdp-ca", pki.CAFile}
	run1 := portaltest.StartProgram(t, bin, addr, dbPath, "", flags...)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	agent, err := portaltest.SignedIn("http://"+addr, transport, demo.AgentEmail, demo.AgentPassword)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	var killed atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		<-fake.WaitCalls(smdp.FuncConfirmOrder, crashSMDPKillAfter)
		killed.Store(true)
		if err := run1.Kill(); err != nil {
			t.Errorf("SIGKILL: %v", err)
		}
	})
	for _, id := range stream.subscribers {
		err := crashAddLine(agent, id, stream.planID, rand.Text())
		var refused *crashRefusal
		if errors.As(err, &refused) || (err != nil && !killed.Load()) {
			t.Fatalf("Add line: %v", err)
		}
		if err != nil {
			break
		}
	}
	wg.Wait()
	run1.WaitKilled(t)
	transport.CloseIdleConnections()

	lines := check.lines(t, stream)
	releasedAtKill := check.count(t, `SELECT count(*) FROM smdp_orders o JOIN esims e USING (iccid) WHERE o.state = 'released' AND e.subscriber_id BETWEEN ? AND ?`,
		stream.first(), stream.last())
	if releasedAtKill == len(lines) {
		t.Fatalf("every one of the %d profiles was released at the kill: the test did not test a restart's provisioning", len(lines))
	}
	checkProvisioned(t, check, fake, stream, false)

	run2 := portaltest.StartProgram(t, bin, addr, dbPath, "", flags...)
	deadline := time.Now().Add(crashDrainTimeout)
	for check.count(t, `SELECT count(*) FROM smdp_orders WHERE state = 'queued'`) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%v after the restart, orders still wait for the SM-DP+", crashDrainTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	run2.Stop(t)
	if n := check.count(t, `SELECT count(*) FROM smdp_orders`); n != len(lines) {
		t.Errorf("%d SM-DP+ orders for %d lines", n, len(lines))
	}
	checkProvisioned(t, check, fake, stream, true)
	portaltest.CheckLog(t, check.db, run1.Out.String()+run2.Out.String())
	t.Logf("%d lines at the kill, %d of them released; %d downloadOrders and %d confirmOrders in all",
		len(lines), releasedAtKill, fake.CallsOf(smdp.FuncDownloadOrder), fake.CallsOf(smdp.FuncConfirmOrder))
}

// checkProvisioned checks the stream's eSIMs against the SM-DP+: a QR email
// only for a profile the SM-DP+ released under the eSIM's MatchingID, and,
// when all is done, every profile released once with its QR email.
func checkProvisioned(t *testing.T, check *crashCheck, fake *smdptest.Server, stream crashStream, done bool) {
	t.Helper()
	rows, err := check.db.Query(`SELECT e.iccid, e.matching_id, o.state, (SELECT count(*) FROM outbox q WHERE q.iccid = e.iccid AND q.kind = 'qr')
		FROM esims e JOIN smdp_orders o USING (iccid) WHERE e.subscriber_id BETWEEN ? AND ?`, stream.first(), stream.last())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	calls := map[string]map[string]int{}
	for _, c := range fake.Calls() {
		iccid, _ := c.Body["iccid"].(string)
		if calls[iccid] == nil {
			calls[iccid] = map[string]int{}
		}
		calls[iccid][c.Function]++
	}
	for rows.Next() {
		var iccid, matchingID, state string
		var qr int
		if err := rows.Scan(&iccid, &matchingID, &state, &qr); err != nil {
			t.Fatal(err)
		}
		held := fake.Profile(iccid)
		switch {
		case qr > 1:
			t.Errorf("eSIM %s has %d QR emails", iccid, qr)
		case qr == 1 && (held.State != smdptest.Released || held.MatchingID != matchingID):
			t.Errorf("eSIM %s has a QR email for %s, but the SM-DP+ holds %+v", iccid, matchingID, held)
		case done && (qr != 1 || state != "released"):
			t.Errorf("eSIM %s: order %s, %d QR emails; want released and 1", iccid, state, qr)
		}
		// One kill can cost each function at most one repeat.
		if n := calls[iccid]; n[smdp.FuncDownloadOrder] > 2 || n[smdp.FuncConfirmOrder] > 2 {
			t.Errorf("eSIM %s: %v calls; at most one repeat of each after one kill", iccid, n)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
