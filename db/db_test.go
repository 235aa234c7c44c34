package db

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.PasswordCost = bcrypt.MinCost
	t.Cleanup(func() { s.Close() })
	return s
}

// count runs a query that returns one number.
func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.read.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPragmasOnEveryConnection(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	want := map[string]string{"foreign_keys": "1", "busy_timeout": "10000", "journal_mode": "wal", "synchronous": "2"}
	check := func(t *testing.T, conn *sql.Conn) {
		for pragma, v := range want {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != v {
				t.Errorf("PRAGMA %s = %s, want %s", pragma, got, v)
			}
		}
	}
	// Hold several read connections at once, so the pool must open new ones.
	var conns []*sql.Conn
	for range 4 {
		conn, err := s.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		check(t, conn)
	}
	for _, c := range conns {
		c.Close()
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	check(t, conn)
}

func TestReadPoolCannotWrite(t *testing.T) {
	s := openTestStore(t)
	_, err := s.read.Exec(`INSERT INTO settings (key, value) VALUES ('x', 'y')`)
	if err == nil {
		t.Fatal("a write through the read pool succeeded")
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	ctx := context.Background()
	t.Run("FromEmpty", func(t *testing.T) {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, table := range []string{"logins", "sessions", "subscribers", "domestic_plans", "plans", "plan_destinations",
			"esims", "esim_plans", "outbox", "form_submissions", "attachments", "profile_events", "audit_log"} {
			if n := count(t, s, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table); n != 1 {
				t.Errorf("table %s missing", table)
			}
		}
	})
	t.Run("ReopenIsNoop", func(t *testing.T) {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		files, _ := fs.Glob(migrations, "migrations/*.sql")
		if n := count(t, s, `SELECT count(*) FROM schema_migrations`); n != len(files) {
			t.Errorf("schema_migrations has %d rows, want one per migration (%d)", n, len(files))
		}
	})
	t.Run("NewerVersionRefused", func(t *testing.T) {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'x')`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		_, err = Open(ctx, path)
		if err == nil || !strings.Contains(err.Error(), "newer than this program") {
			t.Fatalf("Open of a newer database: %v, want a refusal", err)
		}
	})
}

func TestCheckICCID(t *testing.T) {
	for _, tc := range []struct {
		iccid string
		ok    bool
	}{
		{"8901480000000000000", true},  // 19 digits
		{"89014800000000000007", true}, // 20 digits
		{"8999999999999999999", true},
		{"8901480000000000001", false}, // wrong check digit
		{"890148000000000000", false},  // 18 digits
		{"890148000000000000000", false},
		{"9901480000000000003", false}, // not 89
		{"89014800000000000a7", false},
	} {
		t.Run(tc.iccid, func(t *testing.T) {
			err := CheckICCID(tc.iccid)
			if got := err == nil; got != tc.ok {
				t.Errorf("CheckICCID(%s) = %v, want ok=%v", tc.iccid, err, tc.ok)
			}
			if r := Refusals(err); !tc.ok && (len(r) != 1 || r[0].Code != ErrInvalid || r[0].Field != "iccid") {
				t.Errorf("CheckICCID(%s) = %#v, want a refusal of the field iccid", tc.iccid, err)
			}
		})
	}
	t.Run("LuhnKnownValue", func(t *testing.T) {
		// 7992739871 is the textbook Luhn example: check digit 3.
		if got := LuhnDigit("7992739871"); got != '3' {
			t.Errorf("LuhnDigit = %c, want 3", got)
		}
	})
}

func TestConcurrentWritersQueue(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.inTx(ctx, func(ctx context.Context, tx *change) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, "k"+itoa(int64(i)))
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write failed: %v", err)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM settings`); n != 50 {
		t.Errorf("settings rows = %d, want 50", n)
	}
}

func errorsAs(err error, target **Error) bool { return errors.As(err, target) }

// TestBatchedChangesStandAlone runs many changes at once, every third one
// failing after it wrote: the failures leave nothing, the others all stand.
func TestBatchedChangesStandAlone(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 90)
	for i := range 90 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.inTx(ctx, func(ctx context.Context, tx *change) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, "k"+itoa(int64(i))); err != nil {
					return err
				}
				if i%3 == 0 {
					return refuse(ErrInvalid, "", "refused after writing")
				}
				if i == 1 {
					panic("a change that panics")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if wantErr := i%3 == 0 || i == 1; (err != nil) != wantErr {
			t.Errorf("change %d: err = %v, want failure %v", i, err, wantErr)
		}
	}
	if got := count(t, s, `SELECT count(*) FROM settings`); got != 59 {
		t.Errorf("settings rows = %d, want the 59 changes that succeeded", got)
	}
	if got := count(t, s, `SELECT count(*) FROM settings WHERE key IN ('k0', 'k1', 'k3')`); got != 0 {
		t.Errorf("%d rows of failed changes remain", got)
	}
}

// TestErrorsNameTheOperation checks that a Store method that fails says which
// operation failed, and leaves a refusal as it is.
func TestErrorsNameTheOperation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 1)
	_, err := f.addLine(f.subs[0], "", "EURO1")
	if r := Refusals(err); len(r) != 1 || err.Error() != r[0].Message {
		t.Errorf("refusal = %q, want its message alone", err)
	}
	f.s.Close()
	for op, call := range map[string]func() error{
		"add line": func() error { _, err := f.addLine(f.subs[0], "France", "EURO1"); return err },
		"add plan": func() error {
			_, err := f.s.AddPlan(ctx, AddPlan{ICCID: testICCID(1), SubscriberID: f.subs[0], PlanID: f.plans["EURO1"].ID, By: f.agent})
			return err
		},
		"attach": func() error {
			_, err := f.s.Attach(ctx, Attach{ICCID: testICCID(1), Country: "FR", AttachedAt: f.s.Now()})
			return err
		},
		"import inventory": func() error {
			_, _, err := f.s.ImportInventory(ctx, strings.NewReader(inventoryFile(1, 0)), Login{})
			return err
		},
		"retire eSIM": func() error { _, err := f.s.RetireESIM(ctx, testICCID(1), Login{Role: RoleLead}); return err },
		"load eSIM":   func() error { _, err := f.s.ESIM(ctx, testICCID(1)); return err },
		"list plans":  func() error { _, err := f.s.Plans(ctx, true); return err },
	} {
		if err := call(); err == nil || !strings.HasPrefix(err.Error(), op) {
			t.Errorf("%s on a closed store: %v, want it to start with %q", op, err, op)
		}
	}
}
