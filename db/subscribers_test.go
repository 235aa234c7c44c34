package db

import (
	"context"
	"testing"
)

func TestSearchSubscribers(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	seedDemo(t, s)
	names := func(q string) []string {
		found, err := s.SearchSubscribers(ctx, q, 50)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var out []string
		for _, sub := range found {
			out = append(out, sub.Name)
		}
		return out
	}
	has := func(q, name string) {
		t.Helper()
		for _, n := range names(q) {
			if n == name {
				return
			}
		}
		t.Errorf("search %q does not find %s: %v", q, name, names(q))
	}
	var phone, account string
	s.read.QueryRow(`SELECT phone, account_number FROM subscribers WHERE name = 'Priya Raman'`).Scan(&phone, &account)
	digits := onlyDigits(phone)

	has("Priya", "Priya Raman")
	has("raman", "Priya Raman")
	has("iya ram", "Priya Raman")
	has("garcia", "María García") // accents do not matter
	has("priya.raman@", "Priya Raman")
	has(account, "Priya Raman")
	has(account[len(account)-4:], "Priya Raman")
	has(digits[len(digits)-4:], "Priya Raman")
	has(phone, "Priya Raman") // as written, with spaces and +
	has("Pr", "Priya Raman")  // too short for the index: a name prefix
	if got := names("zzzz"); len(got) != 0 {
		t.Errorf("search zzzz found %v", got)
	}
	if got := names(`"; DROP`); len(got) != 0 {
		t.Errorf("a query with quotes found %v", got)
	}
	t.Run("FollowsChanges", func(t *testing.T) {
		if _, err := s.write.Exec(`UPDATE subscribers SET name = 'Priya Raman-Okoye' WHERE name = 'Priya Raman'`); err != nil {
			t.Fatal(err)
		}
		has("okoye", "Priya Raman-Okoye")
		if got := names("Priya Raman"); len(got) != 1 || got[0] != "Priya Raman-Okoye" {
			t.Errorf("after a rename: %v", got)
		}
	})
}

func TestCleanSearch(t *testing.T) {
	for in, want := range map[string]string{
		"  Priya  ":             "Priya",
		"ab\x00c":               "abc",
		"Pri\u200bya":           "Priya",
		"\u202eayirP":           "ayirP",
		"María \t\n  García":    "María García",
		"ahmed\u2028hassan":     "ahmed hassan",
		"bad\xffbyte":           "badbyte",
		"\x00\x01":              "",
		`"quoted" {col}: NEAR(`: `"quoted" {col}: NEAR(`,
	} {
		if got := cleanSearch(in); got != want {
			t.Errorf("cleanSearch(%q) = %q, want %q", in, got, want)
		}
	}
}
