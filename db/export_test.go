package db

import (
	"context"
	"testing"
)

// DemoData is the demo data set of package demo, for the tests of this
// package that need a lived-in database. Package demo imports db, so these
// tests cannot import it: demo_link_test.go, a file of package db_test in the
// same test binary, fills DemoData in.
var DemoData struct {
	Seed                  func(ctx context.Context, s *Store) error
	AgentEmail, LeadEmail string
}

// seedDemo loads the demo data set into s.
func seedDemo(t testing.TB, s *Store) {
	t.Helper()
	if DemoData.Seed == nil {
		t.Fatal("no demo data set: demo_link_test.go sets DemoData")
	}
	if err := DemoData.Seed(context.Background(), s); err != nil {
		t.Fatalf("seed the demo data set: %v", err)
	}
}
