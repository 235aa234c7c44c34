package db

import (
	"context"
	"strings"
	"testing"
)

// With an SM-DP+ an inventory file may leave matching IDs to it; without
// one, a missing matching ID is refused as before.
func TestImportInventoryWithoutMatchingIDs(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	seedDemo(t, s)
	lead := mustLogin(t, s, DemoData.LeadEmail)
	file := "iccid,imsi_profile,smdp_address,matching_id\n" +
		fixtureICCID(7, 9001) + ",7,smdp.import.example.com,\n" +
		fixtureICCID(7, 9002) + ",7,smdp.import.example.com,\n"
	for _, tc := range []struct {
		name  string
		smdp  bool
		added int
	}{
		{"WithoutSMDP", false, 0},
		{"WithSMDP", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.SMDP = tc.smdp
			res, bad, err := s.ImportInventory(ctx, strings.NewReader(file), lead)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != tc.added || (tc.added == 0) != (len(bad) == 2) {
				t.Fatalf("added %d, refused %v; want %d added", res.Total, bad, tc.added)
			}
		})
	}
	if n := count(t, s, `SELECT count(DISTINCT matching_id) FROM esims WHERE iccid IN (?, ?) AND matching_id GLOB 'AP-*'`,
		fixtureICCID(7, 9001), fixtureICCID(7, 9002)); n != 2 {
		t.Errorf("%d distinct matching IDs of the portal's, want 2", n)
	}
}
