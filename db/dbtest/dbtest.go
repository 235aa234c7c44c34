// Package dbtest opens the store for the tests of every package but db
// itself (whose own tests cannot import a package that imports db): on a
// database file of the test's own, with the cheapest password hash, closed
// when the test ends; and a connection of its own to the same file, to look
// at or change the rows behind the store's back. It imports nothing of the
// project but db.
package dbtest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/carrier/esim-admin/db"
)

// Open opens the store on a new, empty database file.
func Open(t testing.TB) *db.Store {
	t.Helper()
	return OpenFile(t, filepath.Join(t.TempDir(), "test.db"))
}

// OpenFile opens the store on the database file at path, made if it is
// not there.
func OpenFile(t testing.TB, path string) *db.Store {
	t.Helper()
	s, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open the store on %s: %v", path, err)
	}
	// Tests sign in all the time: the lowest cost keeps a hash at well under
	// a millisecond instead of a quarter second.
	s.PasswordCost = bcrypt.MinCost
	t.Cleanup(func() { s.Close() })
	return s
}

// Raw is a connection of its own to the database file at path, closed when
// the test ends (or before, by the test).
func Raw(t testing.TB, path string) *sql.DB {
	t.Helper()
	return raw(t, path, "")
}

// ReadOnly is Raw that cannot change the data: for checks that must not.
func ReadOnly(t testing.TB, path string) *sql.DB {
	t.Helper()
	return raw(t, path, "&_pragma=query_only(1)")
}

func raw(t testing.TB, path, pragmas string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"+pragmas)
	if err != nil {
		t.Fatalf("open a connection to %s: %v", path, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Count runs a query that returns one number, on the store's file through
// conn, and fails the test if it cannot.
func Count(t testing.TB, conn *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
