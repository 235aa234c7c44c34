package db

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// inventoryFile builds an inventory file of n good rows, profiles in turn.
func inventoryFile(n, firstSerial int) string {
	var b strings.Builder
	b.WriteString("iccid,imsi_profile,smdp_address,matching_id\n")
	for i := range n {
		p := IMSIProfiles[i%3]
		fmt.Fprintf(&b, "%s,%d,smdp.import.example.com,IMP-%d-%d\n", fixtureICCID(p, firstSerial+i), p, firstSerial, i)
	}
	return b.String()
}

func wrongCheckDigit(iccid string) string {
	last := iccid[len(iccid)-1]
	return iccid[:len(iccid)-1] + string('0'+(last-'0'+1)%10)
}

func TestParseInventoryCSV(t *testing.T) {
	good := fixtureICCID(7, 1)
	for _, tc := range []struct {
		name   string
		file   string
		rows   int
		errors map[int]string // line → part of the reason
	}{
		{"Good", inventoryFile(5, 0), 5, nil},
		{"ByteOrderMarkAndCRLF", "\ufefficcid,imsi_profile,smdp_address,matching_id\r\n" + good + ",7,SMDP.Example.com,AB-1\r\n", 1, nil},
		{"Spaces", "iccid, imsi_profile, smdp_address, matching_id\n " + good + " , 7 , smdp.example.com , AB-1\n", 1, nil},
		{"Empty", "", 0, map[int]string{1: "empty"}},
		{"WrongHeader", "iccid,profile,smdp,matching_id\n", 0, map[int]string{1: "first line"}},
		{"HeaderOnly", "iccid,imsi_profile,smdp_address,matching_id\n", 0, nil},
		{"BadRows", "iccid,imsi_profile,smdp_address,matching_id\n" +
			"890148000000000000,7,smdp.example.com,A1\n" + // 18 digits
			"8901480000000000001,7,smdp.example.com,A2\n" + // check digit
			"9901480000000000003,7,smdp.example.com,A3\n" + // not 89
			"89014800000000000a7,7,smdp.example.com,A4\n" + // letter
			good + ",3,smdp.example.com,A5\n" +
			fixtureICCID(7, 2) + ",7,,A6\n" +
			fixtureICCID(7, 3) + ",7,https://smdp.example.com,A7\n" +
			fixtureICCID(7, 4) + ",7,smdp example.com,A8\n" +
			fixtureICCID(7, 5) + ",7,smdp.example.com,\n" +
			fixtureICCID(7, 6) + ",7,smdp.example.com,A$9\n" +
			fixtureICCID(7, 7) + ",7\n" +
			fixtureICCID(7, 8) + ",7,smdp.example.com,OK-1\n",
			1, map[int]string{2: "19 or 20 digits", 3: "check digit", 4: "start with 89", 5: "only digits", 6: "2, 7 or 10",
				7: "SM-DP+ address is empty", 8: "without http", 9: "not a host name", 10: "matching ID is empty",
				11: "letters, digits and dashes", 12: "expected 4 values"}},
		{"DuplicateICCID", "iccid,imsi_profile,smdp_address,matching_id\n" + good + ",7,smdp.example.com,A1\n" + good + ",7,smdp.example.com,A2\n",
			1, map[int]string{3: "also on line 2"}},
		{"DuplicateActivationCode", "iccid,imsi_profile,smdp_address,matching_id\n" + good + ",7,smdp.example.com,A1\n" +
			fixtureICCID(7, 2) + ",7,SMDP.example.com,A1\n", 1, map[int]string{3: "activation code"}},
		{"MatchingIDCase", "iccid,imsi_profile,smdp_address,matching_id\n" + good + ",7,smdp.example.com,k2-ab-1\n" +
			fixtureICCID(7, 2) + ",7,smdp.example.com,K2-aB-1\n", 1, map[int]string{3: "activation code (SM-DP+ address and matching ID) is also on line 2"}},
		{"BadQuote", "iccid,imsi_profile,smdp_address,matching_id\n" + good + ",7,smdp.example.com,\"A1\n", 0, map[int]string{2: "not valid CSV"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, bad, err := ParseInventoryCSV(strings.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.rows {
				t.Errorf("%d rows, want %d", len(rows), tc.rows)
			}
			if len(bad) != len(tc.errors) {
				t.Errorf("errors %v, want %d", bad, len(tc.errors))
			}
			for _, e := range bad {
				if want, ok := tc.errors[e.Line]; !ok || !strings.Contains(e.Message, want) {
					t.Errorf("line %d: %q, want it to say %q", e.Line, e.Message, want)
				}
				if e.Code != ErrInvalid || e.Field != "file" {
					t.Errorf("line %d: %s of %q, want a refusal (invalid) of the field file", e.Line, e.Code, e.Field)
				}
			}
			for _, r := range rows {
				if r.SMDPAddress != strings.ToLower(r.SMDPAddress) {
					t.Errorf("SM-DP+ address %q kept its capitals", r.SMDPAddress)
				}
				if r.MatchingID != strings.ToUpper(r.MatchingID) {
					t.Errorf("matching ID %q kept its small letters", r.MatchingID)
				}
			}
		})
	}
}

func mustLogin(t *testing.T, s *Store, email string) Login {
	t.Helper()
	for _, l := range mustAllocators(t, s) {
		if l.Email == email {
			return l
		}
	}
	t.Fatalf("no login %s", email)
	return Login{}
}

func TestImportInventory(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	seedDemo(t, s)
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	lead, agent := mustLogin(t, s, DemoData.LeadEmail), mustLogin(t, s, DemoData.AgentEmail)
	before := count(t, s, `SELECT count(*) FROM esims`)

	t.Run("OK", func(t *testing.T) {
		res, bad, err := s.ImportInventory(ctx, strings.NewReader(inventoryFile(10, 0)), lead)
		if err != nil || len(bad) > 0 {
			t.Fatalf("import: %v %v", err, bad)
		}
		if res.Total != 10 || res.ByProfile[2] != 4 || res.ByProfile[7] != 3 || res.ByProfile[10] != 3 {
			t.Errorf("result %+v", res)
		}
		if got := count(t, s, `SELECT count(*) FROM esims WHERE state = 'free' AND stocked_at = ? AND smdp_address = 'smdp.import.example.com'`, formatTime(now)); got != 10 {
			t.Errorf("%d imported eSIMs free and stocked now, want 10", got)
		}
		if got := count(t, s, `SELECT count(*) FROM audit_log WHERE action = 'import' AND login_id = ? AND detail LIKE '%10 eSIMs%profile 7%'`, lead.ID); got != 1 {
			t.Errorf("%d audit entries", got)
		}
	})
	t.Run("OneBadRowAtTheEnd", func(t *testing.T) {
		file := inventoryFile(50, 100) + wrongCheckDigit(fixtureICCID(2, 999)) + ",2,smdp.import.example.com,LAST\n"
		res, bad, err := s.ImportInventory(ctx, strings.NewReader(file), lead)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 0 || len(bad) != 1 || bad[0].Line != 52 {
			t.Errorf("result %+v, errors %v; want nothing added and line 52 refused", res, bad)
		}
		if got := count(t, s, `SELECT count(*) FROM esims`); got != before+10 {
			t.Errorf("%d eSIMs, want %d: the good rows must not go in", got, before+10)
		}
	})
	t.Run("AgainstInventory", func(t *testing.T) {
		var demoICCID, smdp, mid string
		s.read.QueryRow(`SELECT iccid, smdp_address, matching_id FROM esims WHERE state = 'allocated' LIMIT 1`).Scan(&demoICCID, &smdp, &mid)
		file := "iccid,imsi_profile,smdp_address,matching_id\n" +
			fixtureICCID(2, 5000) + ",2,smdp.import.example.com,NEW-1\n" +
			demoICCID + ",7,smdp.import.example.com,NEW-2\n" + // ICCID taken
			fixtureICCID(2, 5001) + ",2," + strings.ToUpper(smdp) + "," + mid + "\n" + // activation code taken
			fixtureICCID(7, 1) + ",7,smdp.import.example.com,IMP-0-1\n" // imported above: ICCID and activation code
		res, bad, err := s.ImportInventory(ctx, strings.NewReader(file), lead)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 0 || len(bad) != 3 {
			t.Fatalf("result %+v, errors %v", res, bad)
		}
		for i, want := range []string{"ICCID " + demoICCID + " is already in the inventory", "activation code", "already in the inventory"} {
			if bad[i].Line != i+3 || !strings.Contains(bad[i].Message, want) || bad[i].Code != ErrConflict {
				t.Errorf("error %d: %v (%s), want line %d to say %q, a conflict", i, bad[i], bad[i].Code, i+3, want)
			}
		}
	})
	// Matching IDs are upper case (SGP.22): an ID in other letter case is the
	// same activation code, whether the inventory holds it in upper case or,
	// imported before IDs were normalised, in any other.
	t.Run("MatchingIDCase", func(t *testing.T) {
		var heldICCID, heldMID string
		s.read.QueryRow(`SELECT iccid, matching_id FROM esims WHERE smdp_address = 'smdp.import.example.com' ORDER BY iccid LIMIT 1`).Scan(&heldICCID, &heldMID)
		legacyICCID := fixtureICCID(10, 8000)
		if _, err := s.write.Exec(`INSERT INTO esims (iccid, imsi_profile, smdp_address, matching_id, stocked_at) VALUES (?, 10, 'smdp.import.example.com', 'legacy-Ab-1', ?)`,
			legacyICCID, formatTime(now)); err != nil {
			t.Fatal(err)
		}
		defer s.write.Exec(`DELETE FROM esims WHERE iccid = ?`, legacyICCID)
		for _, tc := range []struct {
			name, matchingID, takenBy string
		}{
			{"LowerCaseOfHeld", strings.ToLower(heldMID), heldICCID},
			{"UpperCaseOfLegacy", "LEGACY-AB-1", legacyICCID},
			{"OtherCaseOfLegacy", "Legacy-aB-1", legacyICCID},
			{"New", "new-case-1", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				iccid := fixtureICCID(2, 8100)
				file := "iccid,imsi_profile,smdp_address,matching_id\n" + iccid + ",2,smdp.import.example.com," + tc.matchingID + "\n"
				res, bad, err := s.ImportInventory(ctx, strings.NewReader(file), lead)
				if err != nil {
					t.Fatal(err)
				}
				if tc.takenBy != "" {
					want := "activation code (SM-DP+ address and matching ID) is already in the inventory, on eSIM " + tc.takenBy
					if res.Total != 0 || len(bad) != 1 || bad[0].Line != 2 || bad[0].Message != want || bad[0].Code != ErrConflict {
						t.Errorf("result %+v, errors %v; want line 2 refused: %q", res, bad, want)
					}
					return
				}
				if len(bad) > 0 || res.Total != 1 {
					t.Fatalf("result %+v, errors %v; want it added", res, bad)
				}
				if got := count(t, s, `SELECT count(*) FROM esims WHERE iccid = ? AND matching_id = ?`, iccid, strings.ToUpper(tc.matchingID)); got != 1 {
					t.Errorf("matching ID %q not kept in upper case", tc.matchingID)
				}
			})
		}
	})
	t.Run("AgentRefused", func(t *testing.T) {
		_, _, err := s.ImportInventory(ctx, strings.NewReader(inventoryFile(1, 9000)), agent)
		if ErrorCode(err) != ErrForbidden {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
	t.Run("NoRows", func(t *testing.T) {
		_, bad, err := s.ImportInventory(ctx, strings.NewReader("iccid,imsi_profile,smdp_address,matching_id\n"), lead)
		if err != nil || len(bad) != 1 {
			t.Errorf("err %v, errors %v; want one saying the file is empty", err, bad)
		}
	})
	t.Run("CommandLine", func(t *testing.T) {
		res, bad, err := s.ImportInventory(ctx, strings.NewReader(inventoryFile(3, 7000)), Login{})
		if err != nil || len(bad) > 0 || res.Total != 3 {
			t.Fatalf("import: %+v %v %v", res, bad, err)
		}
		if got := count(t, s, `SELECT count(*) FROM audit_log WHERE action = 'import' AND login_id IS NULL`); got != 1 {
			t.Errorf("%d audit entries without a login", got)
		}
	})
}

func TestRetireESIM(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	seedDemo(t, s)
	lead, agent := mustLogin(t, s, DemoData.LeadEmail), mustLogin(t, s, DemoData.AgentEmail)
	pick := func(state string) string {
		var iccid string
		if err := s.read.QueryRow(`SELECT iccid FROM esims WHERE state = ? ORDER BY iccid LIMIT 1`, state).Scan(&iccid); err != nil {
			t.Fatal(err)
		}
		return iccid
	}
	free, allocated, retired := pick(StateFree), pick(StateAllocated), pick(StateRetired)
	t.Run("OK", func(t *testing.T) {
		e, err := s.RetireESIM(ctx, free, lead)
		if err != nil || e.State != StateRetired {
			t.Fatalf("retire: %v, state %q", err, e.State)
		}
		if got := count(t, s, `SELECT count(*) FROM esims WHERE iccid = ? AND state = 'retired'`, free); got != 1 {
			t.Error("not retired in the database")
		}
		if got := count(t, s, `SELECT count(*) FROM audit_log WHERE action = 'retire' AND iccid = ? AND login_id = ?`, free, lead.ID); got != 1 {
			t.Error("no audit entry")
		}
	})
	for name, tc := range map[string]struct {
		iccid string
		by    Login
		code  Code
	}{
		"Allocated":      {allocated, lead, ErrConflict},
		"AlreadyRetired": {retired, lead, ErrConflict},
		"Agent":          {pick(StateFree), agent, ErrForbidden},
		"Unknown":        {fixtureICCID(2, 424242), lead, ErrNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.RetireESIM(ctx, tc.iccid, tc.by)
			if got := ErrorCode(err); got != tc.code {
				t.Errorf("err = %v (%s), want %s", err, got, tc.code)
			}
		})
	}
	if got := count(t, s, `SELECT count(*) FROM esims WHERE iccid = ? AND state = 'allocated'`, allocated); got != 1 {
		t.Error("the allocated eSIM changed")
	}
}

func TestStockSummary(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	seedDemo(t, s)
	stock, err := s.StockSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stock) != len(IMSIProfiles) {
		t.Fatalf("%d profiles", len(stock))
	}
	for _, ps := range stock {
		free := count(t, s, `SELECT count(*) FROM esims WHERE state = 'free' AND imsi_profile = ?`, ps.IMSIProfile)
		allocated := count(t, s, `SELECT count(*) FROM esims WHERE state = 'allocated' AND imsi_profile = ?`, ps.IMSIProfile)
		if ps.Free != free || ps.Allocated != allocated || free == 0 {
			t.Errorf("profile %d: %+v, want %d free and %d allocated", ps.IMSIProfile, ps, free, allocated)
		}
	}
}
