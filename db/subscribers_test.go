package db

import (
	"context"
	"slices"
	"strings"
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
	has("Ra", "Priya Raman") // the start of a surname, too short for the index
	t.Run("StartsFirst", func(t *testing.T) {
		// A name, then a surname, then an email that starts with the query,
		// then a match inside a word: each kind alphabetical, the last in
		// the order the subscribers came.
		now := formatTime(s.Now())
		for _, sub := range [][3]string{
			{"ZT-1", "Bea Kelmar", "bk@example.com"},
			{"ZT-2", "Mara Lind", "ml@example.com"},
			{"ZT-3", "Aldo Marek", "am@example.com"},
			{"ZT-4", "Cleo Vance", "marcleo@example.com"},
			{"ZT-5", "Mar Quell", "mq@example.com"},
			{"ZT-6", "Dov Amare", "da@example.com"},
		} {
			if _, err := s.write.Exec(`INSERT INTO subscribers (account_number, name, email, phone, created_at) VALUES (?, ?, ?, '+1 555 0100', ?)`,
				sub[0], sub[1], sub[2], now); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, n := range names("mar") {
			switch n {
			case "Bea Kelmar", "Mara Lind", "Aldo Marek", "Cleo Vance", "Mar Quell", "Dov Amare":
				got = append(got, n)
			}
		}
		want := []string{"Mar Quell", "Mara Lind", "Aldo Marek", "Cleo Vance", "Bea Kelmar", "Dov Amare"}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("search mar: %v, want %v", got, want)
		}
		if got := names("M"); len(got) == 0 || got[0] != "Mar Quell" {
			t.Errorf("search M: %v, want the names that start with M first", got)
		}
		found, err := s.SearchSubscribers(ctx, "mar", 3)
		if err != nil || len(found) != 3 {
			t.Errorf("search with limit 3: %d found, %v", len(found), err)
		}
	})
	t.Run("WholeValue", func(t *testing.T) {
		// A whole email address or account number is one customer's: the
		// search stops there, rather than also listing those whose
		// address or number holds it; its start still finds both.
		now := formatTime(s.Now())
		for _, sub := range [][3]string{{"ZW-1", "Ann Lee", "ann@example.net"}, {"ZW-10", "Jo Ann Lee", "joann@example.net"}} {
			if _, err := s.write.Exec(`INSERT INTO subscribers (account_number, name, email, phone, created_at) VALUES (?, ?, ?, '+1 555 0100', ?)`,
				sub[0], sub[1], sub[2], now); err != nil {
				t.Fatal(err)
			}
		}
		for q, want := range map[string]string{
			"ann@example.net": "Ann Lee",
			"ANN@example.net": "Ann Lee",
			"ZW-1":            "Ann Lee, Jo Ann Lee", // the start of ZW-10 too
			"zw-10":           "Jo Ann Lee",
			"ann@example":     "Ann Lee, Jo Ann Lee", // the start of one, inside the other
		} {
			if got := strings.Join(names(q), ", "); got != want {
				t.Errorf("search %q: %s, want %s", q, got, want)
			}
		}
	})
	t.Run("FollowsChanges", func(t *testing.T) {
		if _, err := s.write.Exec(`UPDATE subscribers SET name = 'Priya Raman-Okoye' WHERE name = 'Priya Raman'`); err != nil {
			t.Fatal(err)
		}
		has("okoye", "Priya Raman-Okoye")
		// A new phone number is found by its end at once, the old one no more.
		if _, err := s.write.Exec(`UPDATE subscribers SET phone = '+44 20 7946 0958' WHERE name = 'Priya Raman-Okoye'`); err != nil {
			t.Fatal(err)
		}
		has("20 7946 0958", "Priya Raman-Okoye")
		has("0044 20 7946 0958", "Priya Raman-Okoye")
		if got := names(phone); slices.Contains(got, "Priya Raman-Okoye") {
			t.Errorf("her old number %s still finds her: %v", phone, got)
		}
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

// TestSearchSaysWhatMatched: each query finds Kenji Watanabe by what it
// names, with the part it matched and whether it is a whole ICCID, order
// number or account number.
func TestSearchSaysWhatMatched(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	seedDemo(t, s)
	var iccid, order, account, phone string
	if err := s.read.QueryRow(`SELECT e.iccid, ep.order_number, sb.account_number, sb.phone FROM subscribers sb
		JOIN esims e ON e.subscriber_id = sb.id JOIN esim_plans ep ON ep.iccid = e.iccid
		WHERE sb.name = 'Kenji Watanabe' ORDER BY ep.id LIMIT 1`).Scan(&iccid, &order, &account, &phone); err != nil {
		t.Fatal(err)
	}
	serial := order[strings.LastIndexByte(order, '-')+1:]
	accountDigits := onlyDigits(account)
	// The phone number as a customer reads it out: with its country code
	// written + or 00, or without it, in groups, brackets and dashes.
	digits := onlyDigits(phone)
	national := digits[len(digits)-10:]
	country := digits[:len(digits)-10]
	for _, tc := range []struct {
		q, matched, value, part string
		exact                   bool
	}{
		{iccid, MatchICCID, iccid, iccid, true},
		{iccid[len(iccid)-5:], MatchICCID, iccid, iccid[len(iccid)-5:], false},
		{order, MatchOrder, order, order, true},
		{strings.ToLower(order), MatchOrder, order, order, true},
		{serial, MatchOrder, order, serial, true},
		{account, MatchAccount, account, account, true},
		{strings.ToLower(account[:5]), MatchAccount, account, account[:5], false},
		{"kenji", MatchName, "Kenji Watanabe", "Kenji", false},
		{"watanabe", MatchName, "Kenji Watanabe", "Watanabe", false},
		{"kenji.wat", MatchEmail, "kenji.watanabe@example.com", "kenji.wat", false},
		{accountDigits, MatchAccount, account, accountDigits, false},                                               // without its letters
		{accountDigits[len(accountDigits)-4:], MatchAccount, account, accountDigits[len(accountDigits)-4:], false}, // its end
		{phone, MatchPhone, phone, "", false},
		{"+" + country + " (" + national[:3] + ") " + national[3:6] + "-" + national[6:], MatchPhone, phone, "", false},
		{"00" + country + " " + national[:3] + " " + national[3:6] + " " + national[6:], MatchPhone, phone, "", false},
		{national[:3] + "." + national[3:6] + "." + national[6:], MatchPhone, phone, "", false},
		{national[3:6] + "-" + national[6:], MatchPhone, phone, "", false},
	} {
		found, err := s.SearchSubscribers(ctx, tc.q, 50)
		if err != nil {
			t.Fatalf("search %q: %v", tc.q, err)
		}
		var got *Found
		for i := range found {
			if found[i].Name == "Kenji Watanabe" {
				got = &found[i]
				break
			}
		}
		if got == nil {
			t.Errorf("search %q does not find Kenji Watanabe", tc.q)
			continue
		}
		if got.Matched != tc.matched || got.Value != tc.value || got.Part != tc.part || got.Exact != tc.exact {
			t.Errorf("search %q: matched %s %q, part %q, exact %v; want %s %q, part %q, exact %v",
				tc.q, got.Matched, got.Value, got.Part, got.Exact, tc.matched, tc.value, tc.part, tc.exact)
		}
	}
}
