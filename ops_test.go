package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/db/dbtest"
	"github.com/carrier/esim-admin/demo"
	"github.com/carrier/esim-admin/handlers/portaltest"
)

// The operations of the real program, as a process of its own: one portal
// per database, backup and restore while it serves, readiness on a
// read-only database.

// program runs the built program with args and the environment less the
// developer's ESIM_* settings, and returns its output and exit error.
func program(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	out, err := portaltest.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func TestSecondPortalRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program; skipped with -short")
	}
	bin := portaltest.BuildProgram(t)
	dbPath := filepath.Join(t.TempDir(), "one.db")
	first := portaltest.StartProgram(t, bin, portaltest.FreeAddr(t), dbPath, "")
	out, err := program(t, bin, "-addr", portaltest.FreeAddr(t), "-db", dbPath)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("a second portal on the same database: %v\n%s", err, out)
	}
	pid := fmt.Sprintf("pid %d", first.Cmd.Process.Pid)
	if !strings.Contains(out, "in use by another portal") || !strings.Contains(out, pid) || strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Errorf("the second portal says %q; want one line naming the first (%s)", out, pid)
	}
	// Commands still run beside the portal.
	if out, err := program(t, bin, "-db", dbPath, "backup", filepath.Join(t.TempDir(), "b.db")); err != nil {
		t.Errorf("backup beside the portal: %v\n%s", err, out)
	}
	first.Stop(t)
	portaltest.StartProgram(t, bin, portaltest.FreeAddr(t), dbPath, "").Stop(t)
}

// TestBackupWhileServing backs the database up with the backup command
// while agents add lines through the portal, checks that restore refuses
// the running portal's database, restores the backup as another database,
// and finds it whole: every allocated eSIM with its plan and two emails,
// the stock counts right, and the lines done when the backup began.
func TestBackupWhileServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program; skipped with -short")
	}
	bin := portaltest.BuildProgram(t)
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	addr := portaltest.FreeAddr(t)
	portaltest.StartProgram(t, bin, addr, live, "").Stop(t)
	stream := prepareCrashStream(t, live)
	recountRaw(t, live) // the stream's stock went in behind the store's back
	portal := portaltest.StartProgram(t, bin, addr, live, "")

	transport := &http.Transport{MaxIdleConnsPerHost: crashAgents}
	t.Cleanup(transport.CloseIdleConnections)
	work := make(chan int64, len(stream.subscribers))
	for _, id := range stream.subscribers {
		work <- id
	}
	close(work)
	agents := make([]*portaltest.Client, crashAgents)
	for i := range agents {
		a, err := portaltest.SignedIn("http://"+addr, transport, demo.AgentEmail, demo.AgentPassword)
		if err != nil {
			t.Fatal(err)
		}
		agents[i] = a
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Go(func() {
			for id := range work {
				if err := crashAddLine(a, id, stream.planID, rand.Text()); err != nil {
					t.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	for done.Load() < 40 {
		time.Sleep(time.Millisecond)
	}
	backup := filepath.Join(dir, "backup.db")
	atStart := done.Load()
	out, err := program(t, bin, "-db", live, "backup", backup)
	atEnd := done.Load()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	t.Logf("%s(%d Add lines done when it began, %d when it ended, of %d)", out, atStart, atEnd, len(stream.subscribers))

	out, err = program(t, bin, "-db", live, "restore", backup)
	if err == nil || !strings.Contains(out, "in use by another portal") {
		t.Errorf("restore over the running portal's database: %v\n%s", err, out)
	}
	wg.Wait()
	portal.Stop(t)

	restored := filepath.Join(dir, "restored.db")
	if out, err := program(t, bin, "-db", restored, "restore", backup); err != nil || !strings.Contains(out, "Restored") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	check := openCrashCheck(t, restored)
	lines := check.count(t, `SELECT count(*) FROM esims WHERE state = 'allocated' AND subscriber_id BETWEEN ? AND ?`, stream.first(), stream.last())
	if lines < int(atStart) || lines > int(atEnd) {
		t.Errorf("%d of the stream's lines in the backup; want between the %d done when it began and the %d when it ended", lines, atStart, atEnd)
	}
	for what, query := range map[string]string{
		"stream lines without exactly one plan": `SELECT count(*) FROM esims e WHERE state = 'allocated' AND subscriber_id >= ?
			AND (SELECT count(*) FROM esim_plans p WHERE p.iccid = e.iccid) <> 1`,
		"stream lines without their two emails": `SELECT count(*) FROM esims e WHERE state = 'allocated' AND subscriber_id >= ?
			AND (SELECT count(*) FROM outbox o WHERE o.iccid = e.iccid) <> 2`,
		"stock counts that differ from the eSIMs": `SELECT count(*) FROM (
			SELECT imsi_profile, state, sum(k) AS kept, sum(c) AS counted FROM (
				SELECT imsi_profile, state, count AS k, 0 AS c FROM esim_stock
				UNION ALL SELECT imsi_profile, state, 0, count(*) FROM esims GROUP BY imsi_profile, state)
			GROUP BY imsi_profile, state HAVING kept <> counted)`,
	} {
		if n := check.count(t, query, stream.first()); n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}
	if n := check.count(t, `SELECT count(*) FROM pragma_foreign_key_check`); n != 0 {
		t.Errorf("%d rows whose foreign keys point nowhere", n)
	}
	// The restored database serves.
	portaltest.StartProgram(t, bin, portaltest.FreeAddr(t), restored, "").Stop(t)
}

// TestReadyzOnReadOnlyDatabase serves a database the process cannot write
// (as a read-only mount would): pages still answer, /readyz says 503.
func TestReadyzOnReadOnlyDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real program; skipped with -short")
	}
	bin := portaltest.BuildProgram(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "ro.db")
	portaltest.StartProgram(t, bin, portaltest.FreeAddr(t), dbPath, "").Stop(t)
	if err := os.Chmod(dbPath, 0o444); err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// root writes whatever the permissions say: the portal runs as
		// nobody, which may read the file and make its -shm in the folder.
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		for _, p := range []string{dir, filepath.Dir(bin), filepath.Dir(dir)} {
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
	addr := portaltest.FreeAddr(t)
	cmd := portaltest.Command(bin, "-addr", addr, "-db", dbPath)
	const metricsToken = "read-only-metrics-token-0123456789abcdef"
	cmd.Env = append(cmd.Env, "ESIM_METRICS_TOKEN="+metricsToken)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out := portaltest.StartCommand(t, cmd, addr).Out
	get := func(path string, headers ...string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	if status, _ := get("/healthz"); status != http.StatusOK {
		t.Errorf("healthz: %d", status)
	}
	if status, body := get("/readyz"); status != http.StatusServiceUnavailable || len(body) != 1 || body["status"] != "not ready" {
		t.Errorf("readyz on a read-only database, without the metrics token: %d %v, want 503 and only the status", status, body)
	}
	status, body := get("/readyz", "Authorization", "Bearer "+metricsToken)
	checks, _ := body["checks"].(map[string]any)
	if status != http.StatusServiceUnavailable || checks["database"] != "does not take a write" || checks["schema"] == nil {
		t.Errorf("readyz on a read-only database: %d %v\n%s", status, body, out.String())
	}
}

// recountRaw makes the stock counts again after eSIMs went in with raw SQL.
func recountRaw(t *testing.T, path string) {
	t.Helper()
	raw := dbtest.Raw(t, path)
	defer raw.Close()
	for _, q := range []string{`DELETE FROM esim_stock`,
		`INSERT INTO esim_stock (imsi_profile, state, count) SELECT imsi_profile, state, count(*) FROM esims GROUP BY imsi_profile, state`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackupRotation makes backups as the timer does and keeps the newest.
func TestBackupRotation(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(t.TempDir(), "esim-admin.db")
	s, err := db.Open(t.Context(), live)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg := config{DB: live, BackupDir: dir, BackupKeep: 3}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a backup"), 0o600)
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		if _, err := backupOnce(t.Context(), cfg, start.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	have, err := backups(dir, live)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range have {
		names = append(names, filepath.Base(p))
	}
	want := []string{"esim-admin-20261201T020000Z.db", "esim-admin-20261201T030000Z.db", "esim-admin-20261201T040000Z.db"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("backups kept: %v, want %v", names, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Error("the rotation removed a file that is not a backup")
	}
}
