package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The rules of db/catalog.go, each on a fresh store with the fake clock.

// soldFixture is newFixture's store with Euro 1 sold once, on a clock that
// stands still.
func soldFixture(t *testing.T) (*fixture, Order) {
	t.Helper()
	f := newFixture(t, 2, 3)
	f.s.Now = func() time.Time { return lifecycleBase }
	o, err := f.addLine(f.subs[0], "France", "EURO1")
	if err != nil {
		t.Fatal(err)
	}
	return f, o
}

func refusedFields(err error) []string {
	var out []string
	for _, e := range Refusals(err) {
		out = append(out, e.Field)
	}
	return out
}

func TestSavePlanRules(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		plan   string // EURO1 is sold once, ASIA1 never
		change func(p *Plan)
		code   Code
		fields []string // refused, when code is set
	}{
		{"SoldName", "EURO1", func(p *Plan) { p.Name = "Euro Lite" }, "", nil},
		{"SoldPrice", "EURO1", func(p *Plan) { p.PriceCents, p.Currency = 2500, "EUR" }, "", nil},
		{"SoldRegion", "EURO1", func(p *Plan) { p.Region = "Western Europe" }, "", nil},
		{"SoldWithdrawn", "EURO1", func(p *Plan) { p.Active = false }, "", nil},
		{"SoldData", "EURO1", func(p *Plan) { p.DataMB = 5000 }, ErrConflict, []string{"data_mb"}},
		{"SoldProfile", "EURO1", func(p *Plan) { p.IMSIProfile = 2 }, ErrConflict, []string{"imsi_profile"}},
		{"SoldDestinations", "EURO1", func(p *Plan) { p.Destinations = []string{"FR"} }, ErrConflict, []string{"destinations"}},
		{"SoldAllFixedAtOnce", "EURO1", func(p *Plan) {
			p.Name, p.DataMB, p.IMSIProfile, p.Destinations = "New", 1000, 10, []string{"IS"}
		}, ErrConflict, []string{"data_mb", "imsi_profile", "destinations"}},
		{"UnsoldData", "ASIA1", func(p *Plan) { p.DataMB = 5000 }, "", nil},
		{"UnsoldProfile", "ASIA1", func(p *Plan) { p.IMSIProfile = 2 }, "", nil},
		{"UnsoldDestinations", "ASIA1", func(p *Plan) { p.Destinations = []string{"JP", "KR"} }, "", nil},
		{"Invalid", "ASIA1", func(p *Plan) { p.Name, p.DataMB, p.Currency, p.IMSIProfile = "", 0, "XYZ", 3 }, ErrInvalid,
			[]string{"name", "data_mb", "currency", "imsi_profile"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, _ := soldFixture(t)
			before := f.plans[tc.plan]
			p := before
			p.Destinations = slices.Clone(p.Destinations)
			tc.change(&p)
			res, err := f.s.SavePlan(ctx, p, f.agent)
			if got := ErrorCode(err); got != tc.code {
				t.Fatalf("SavePlan: %v (%q), want %q", err, got, tc.code)
			}
			after, lerr := f.s.PlanByCode(ctx, tc.plan)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tc.code != "" {
				if got := refusedFields(err); !slices.Equal(got, tc.fields) {
					t.Errorf("refused %v, want %v", got, tc.fields)
				}
				if after.DataMB != before.DataMB || after.IMSIProfile != before.IMSIProfile || after.Name != before.Name ||
					!slices.Equal(after.Destinations, before.Destinations) {
					t.Errorf("a refused change changed the plan: %+v, was %+v", after, before)
				}
				return
			}
			if res.Created || len(res.Changes) == 0 {
				t.Errorf("SavePlan = %+v, want a change", res)
			}
			want, _ := CleanPlan(p)
			want.ID = before.ID
			if after.Name != want.Name || after.DataMB != want.DataMB || after.IMSIProfile != want.IMSIProfile || after.PriceCents != want.PriceCents ||
				after.Currency != want.Currency || after.Active != want.Active || !slices.Equal(after.Destinations, want.Destinations) {
				t.Errorf("plan = %+v, want %+v", after, want)
			}
		})
	}
}

func TestPriceChangeLeavesSoldOrders(t *testing.T) {
	ctx := context.Background()
	f, sold := soldFixture(t)
	p := f.plans["EURO1"]
	p.PriceCents = 2500
	res, err := f.s.SavePlan(ctx, p, f.agent)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Changes, []string{"price: $19.00 → $25.00"}; !slices.Equal(got, want) {
		t.Errorf("changes = %q, want %q", got, want)
	}
	newer, err := f.addLine(f.subs[1], "Spain", "EURO1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		order Order
		price string
	}{{sold, "$19.00"}, {newer, "$25.00"}} {
		e, err := f.s.ESIM(ctx, tc.order.ICCID)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Plans[0].Plan.Price(); got != tc.price {
			t.Errorf("order %s reads %s, want the price paid, %s", tc.order.OrderNumber, got, tc.price)
		}
		var text string
		if err := f.s.read.QueryRowContext(ctx, `SELECT text_body FROM outbox WHERE kind = 'confirmation' AND iccid = ?`, tc.order.ICCID).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, tc.price) {
			t.Errorf("confirmation of %s says %q, want %s", tc.order.OrderNumber, text, tc.price)
		}
	}
}

func TestWithdrawPlan(t *testing.T) {
	ctx := context.Background()
	l := newLifecycle(t, "EURO1")
	start := lifecycleBase.Add(time.Hour)
	l.attach(t, "DE", start)
	if _, err := l.s.WithdrawPlan(ctx, "EURO1", l.agent); err != nil {
		t.Fatal(err)
	}
	t.Run("GoneFromAddLine", func(t *testing.T) {
		_, err := l.addLine(l.subs[0], "Spain", "EURO1")
		if got := refusedFields(err); !slices.Contains(got, "plan") {
			t.Errorf("Add line with a withdrawn plan: %v, want the plan refused", err)
		}
		onSale, err := l.s.Plans(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(onSale, func(p Plan) bool { return p.Code == "EURO1" }) {
			t.Error("the plans on sale still list Euro 1")
		}
	})
	t.Run("RunningPlanStillCharged", func(t *testing.T) {
		l.now = start.Add(2 * time.Hour)
		res, err := l.s.RecordUsage(ctx, []UsageReport{{ID: "r1", ICCID: l.iccid, Country: "DE", Bytes: 5 * BytesPerMB,
			Start: start.Add(time.Hour), End: start.Add(90 * time.Minute)}}, Login{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res[0].Charges) != 1 || res[0].Charges[0].OrderNumber != l.orders[0] || res[0].Charges[0].Bytes != 5*BytesPerMB {
			t.Errorf("charged %+v, want 5 MB to %s", res[0].Charges, l.orders[0])
		}
	})
	t.Run("PutBackOnSale", func(t *testing.T) {
		p, err := l.s.PutPlanOnSale(ctx, "EURO1", l.agent)
		if err != nil || !p.Active {
			t.Fatalf("PutPlanOnSale = %+v, %v", p, err)
		}
		if _, err := sellablePlan(ctx, l.s.read, p.ID); err != nil {
			t.Errorf("a plan back on sale is not sold: %v", err)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		got := count(t, l.s, `SELECT count(*) FROM audit_log WHERE action IN ('catalog_withdraw', 'catalog_on_sale') AND detail LIKE 'plan EURO1 %'`)
		if got != 2 {
			t.Errorf("%d audit entries of withdrawing and putting back, want 2", got)
		}
	})
}

func TestDeletePlan(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, plan string
		code       Code
	}{
		{"Unsold", "ASIA1", ""},
		{"UnsoldWithdrawn", "EURO5", ""},
		{"Sold", "EURO1", ErrConflict},
		{"Unknown", "NOSUCH", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, _ := soldFixture(t)
			err := f.s.DeletePlan(ctx, tc.plan, f.agent)
			if got := ErrorCode(err); got != tc.code {
				t.Fatalf("DeletePlan: %v (%q), want %q", err, got, tc.code)
			}
			_, err = f.s.PlanByCode(ctx, tc.plan)
			if gone := ErrorCode(err) == ErrNotFound; gone != (tc.code != ErrConflict) {
				t.Errorf("plan gone = %v after DeletePlan answered %q", gone, tc.code)
			}
		})
	}
}

func TestOnlyCover(t *testing.T) {
	ctx := context.Background()
	f, _ := soldFixture(t)
	only := func(code string) string {
		t.Helper()
		got, err := f.s.OnlyCover(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, " ")
	}
	// Euro 5 covers FR but is withdrawn: it counts for nothing.
	if got, want := only("EURO1"), "DE ES FR"; got != want {
		t.Errorf("only Euro 1 covers %q, want %q", got, want)
	}
	if _, err := f.s.AddToCatalog(ctx, []Plan{{Code: "FR1", Name: "France", Region: "Europe", DataMB: 1000, IMSIProfile: 7, Active: true,
		Destinations: []string{"FR"}}}, f.agent); err != nil {
		t.Fatal(err)
	}
	if got, want := only("EURO1"), "DE ES"; got != want {
		t.Errorf("only Euro 1 covers %q, want %q", got, want)
	}
}

func TestCatalogAudit(t *testing.T) {
	ctx := context.Background()
	f, _ := soldFixture(t)
	p := f.plans["EURO1"]
	p.Name, p.PriceCents = "Euro Lite", 1500
	if _, err := f.s.SavePlan(ctx, p, f.agent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SavePlan(ctx, p, f.agent); err != nil { // no change: nothing to audit
		t.Fatal(err)
	}
	page, err := f.s.AuditLog(ctx, AuditFilter{}, 0, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var edits []string
	for _, e := range page.Entries {
		if e.Action == "catalog_edit" {
			edits = append(edits, e.LoginName+": "+e.Detail)
		}
	}
	want := []string{`Agent: plan EURO1: name: "Euro 1" → "Euro Lite"; price: $19.00 → $15.00`}
	if !slices.Equal(edits, want) {
		t.Errorf("audit = %q, want %q", edits, want)
	}
}

func TestParseDataAndPrice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mb   int
		fail bool
	}{
		{"5 GB", 5000, false}, {"5gb", 5000, false}, {"1.5 GB", 1500, false}, {"500 MB", 500, false}, {" 20GB ", 20000, false},
		{"1.2345 GB", 0, true}, {"5", 0, true}, {"0 MB", 0, true}, {"-1 GB", 0, true}, {"5,000 MB", 0, true}, {"1001 GB", 0, true}, {"GB", 0, true},
	} {
		got, err := ParseData(tc.in)
		if (err != nil) != tc.fail || got != tc.mb {
			t.Errorf("ParseData(%q) = %d, %v; want %d, failing %v", tc.in, got, err, tc.mb, tc.fail)
		}
	}
	for _, tc := range []struct {
		in    string
		cents int
		fail  bool
	}{
		{"19", 1900, false}, {"19.9", 1990, false}, {"19.90", 1990, false}, {"0", 0, false},
		{"19.999", 0, true}, {"$19", 0, true}, {"-1", 0, true}, {"", 0, true}, {"10000.01", 0, true},
	} {
		got, err := ParsePrice(tc.in)
		if (err != nil) != tc.fail || got != tc.cents {
			t.Errorf("ParsePrice(%q) = %d, %v; want %d, failing %v", tc.in, got, err, tc.cents, tc.fail)
		}
	}
}

func TestImportPlans(t *testing.T) {
	ctx := context.Background()
	header := strings.Join(PlansHeader, ",") + "\n"
	t.Run("OK", func(t *testing.T) {
		f, _ := soldFixture(t)
		plans, bad, err := f.s.ImportPlans(ctx, strings.NewReader(header+
			"ICE5,Iceland 5 GB,Europe,5000,1900,USD,7,IS,true\n"+
			"NORD,Nordics,Europe,3000,2500,EUR,7,NO SE DK FI IS,false\n"), f.agent)
		if err != nil || len(bad) > 0 || len(plans) != 2 {
			t.Fatalf("ImportPlans = %+v, %v, %v", plans, bad, err)
		}
		got, err := f.s.PlanByCode(ctx, "NORD")
		if err != nil || got.Active || got.Price() != "€25.00" || strings.Join(got.Destinations, " ") != "DK FI IS NO SE" {
			t.Errorf("NORD = %+v, %v", got, err)
		}
	})
	t.Run("EveryBadLineNamedNothingAdded", func(t *testing.T) {
		f, _ := soldFixture(t)
		before := count(t, f.s, `SELECT count(*) FROM plans`)
		_, bad, err := f.s.ImportPlans(ctx, strings.NewReader(header+
			"ICE5,Iceland 5 GB,Europe,5000,1900,USD,7,IS,true\n"+ // line 2: fine
			"ICE5,Iceland again,Europe,5000,1900,USD,7,IS,true\n"+ // 3: code twice
			"EURO1,Euro,Europe,1000,900,USD,7,FR,true\n"+ // 4: in the catalog
			"X9,,Europe,lots,1900,USD,3,ZZ,maybe\n"+ // 5: everything
			"SHORT,Too few\n"), f.agent) // 6
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range bad {
			got = append(got, e.Error())
		}
		want := []string{
			"line 3: code ICE5 is also on line 2",
			"line 4: plan EURO1 is already in the catalog",
			`line 5: data_mb: "lots" is not a whole number; on_sale: write true or false, not "maybe"; name: Enter a name, as customers see it (e.g. Iceland 5 GB).; imsi_profile: Choose IMSI profile 2, 7 or 10 (not 3): the one with the best data cost in the plan's destinations.; destinations: Unknown destination "ZZ": give ISO 3166-1 alpha-2 codes such as IS.`,
			"line 6: expected 9 values (code, name, region, data_mb, price_cents, currency, imsi_profile, destinations, on_sale), found 2",
		}
		if !slices.Equal(got, want) {
			t.Errorf("bad lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if after := count(t, f.s, `SELECT count(*) FROM plans`); after != before {
			t.Errorf("%d plans after a refused import, want %d", after, before)
		}
	})
	t.Run("Header", func(t *testing.T) {
		f, _ := soldFixture(t)
		_, bad, err := f.s.ImportPlans(ctx, strings.NewReader("code,name\nA,B\n"), f.agent)
		if err != nil || len(bad) != 1 || bad[0].Line != 1 {
			t.Errorf("ImportPlans = %v, %v; want line 1 refused", bad, err)
		}
	})
}

func TestCatalogCounts(t *testing.T) {
	ctx := context.Background()
	l := newLifecycle(t, "EURO1", "EURO1")
	counts := func() string {
		t.Helper()
		entries, err := l.s.Catalog(ctx, CatalogFilter{Search: "euro 1"})
		if err != nil || len(entries) != 1 {
			t.Fatalf("Catalog = %+v, %v", entries, err)
		}
		e := entries[0]
		return fmt.Sprintf("sold %d, running %d, queued %d", e.Sold, e.Running, e.Queued)
	}
	if got, want := counts(), "sold 2, running 0, queued 2"; got != want {
		t.Errorf("after two orders: %s, want %s", got, want)
	}
	l.attach(t, "FR", lifecycleBase.Add(time.Hour))
	if got, want := counts(), "sold 2, running 1, queued 1"; got != want {
		t.Errorf("after a start: %s, want %s", got, want)
	}
	l.now = lifecycleBase.Add(31 * 24 * time.Hour) // its 30 days are over
	if got, want := counts(), "sold 2, running 0, queued 1"; got != want {
		t.Errorf("after its end: %s, want %s", got, want)
	}
	if n := count(t, l.s, `SELECT count(*) FROM plans p WHERE sold <> (SELECT count(*) FROM esim_plans WHERE plan_id = p.id)`); n != 0 {
		t.Errorf("%d plans whose kept count of orders is not their orders", n)
	}
}
