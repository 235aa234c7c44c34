package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/demo"
)

// storeCommands are the command-line commands that work on the store, by
// name; backup, restore and smdp-fake work without one (run).
var storeCommands = []struct {
	name string
	run  func(ctx context.Context, store *db.Store, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}{
	{"users add", addUser},
	{"api-clients add", addAPIClient},
	{"subscribers import", importSubscribers},
	{"plans import", importPlans},
	{"inventory import", importInventory},
	{"demo scale", demoScale},
	{"demo year", demoYear},
}

// command runs a command-line command on the store.
func command(ctx context.Context, store *db.Store, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := strings.Join(args[:min(2, len(args))], " ")
	names := make([]string, 0, len(storeCommands)+3)
	for _, c := range storeCommands {
		if c.name == name {
			return c.run(ctx, store, args[2:], stdin, stdout, stderr)
		}
		names = append(names, c.name)
	}
	return fmt.Errorf("unknown command %q; commands: %s", strings.Join(args, " "), strings.Join(append(names, "backup", "restore", "smdp-fake"), ", "))
}

// addUser creates a login; the password is read from standard input so it
// never shows in a process list or shell history.
func addUser(ctx context.Context, store *db.Store, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email address to sign in with")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "agent", "agent or lead")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || *name == "" {
		return errors.New("users add needs --email and --name")
	}
	fmt.Fprint(stderr, "Password (8 characters or more): ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	l, err := store.CreateLogin(ctx, *email, *name, db.Role(*role), strings.TrimRight(line, "\r\n"))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nAdded %s (%s) as %s.\n", l.Email, l.Name, l.Role.Label())
	return nil
}

// importInventory adds the eSIMs of a CSV file to the stock, all or nothing,
// as the import page does; a refused file lists its lines to fix.
func importInventory(ctx context.Context, store *db.Store, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return importFile(args, "inventory import", stdout, stderr, func(f io.Reader) (string, db.Errors, error) {
		res, bad, err := store.ImportInventory(ctx, f, db.Login{})
		return "Added " + res.Summary() + ".", bad, err
	})
}

// importPlans loads the plans of a CSV file into the catalog, all or
// nothing; a refused file lists its lines to fix.
func importPlans(ctx context.Context, store *db.Store, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return importFile(args, "plans import", stdout, stderr, func(f io.Reader) (string, db.Errors, error) {
		plans, bad, err := store.ImportPlans(ctx, f, db.Login{})
		onSale := 0
		for _, p := range plans {
			if p.Active {
				onSale++
			}
		}
		return fmt.Sprintf("Added %d plans to the catalog, %d of them on sale.", len(plans), onSale), bad, err
	})
}

// importFile runs an import of the file named by args, and prints what it
// added, or the lines to fix when it was refused.
func importFile(args []string, command string, stdout, stderr io.Writer, load func(io.Reader) (string, db.Errors, error)) error {
	if len(args) != 1 {
		return errors.New("usage: " + command + " FILE.csv")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	done, bad, err := load(f)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		const shown = 200
		for _, e := range bad[:min(len(bad), shown)] {
			fmt.Fprintln(stderr, e)
		}
		if len(bad) > shown {
			fmt.Fprintf(stderr, "…and %d lines more.\n", len(bad)-shown)
		}
		return fmt.Errorf("nothing was added: %d lines of %s need fixing", len(bad), args[0])
	}
	fmt.Fprintln(stdout, done)
	return nil
}

// demoScale fills a new or demo database with a large made-up data set, to
// see how the portal fares with a million eSIMs.
func demoScale(ctx context.Context, store *db.Store, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	esims := fs.Int("esims", 1_000_000, "eSIMs in the inventory")
	subscribers := fs.Int("subscribers", 100_000, "subscribers")
	seed := fs.Uint64("seed", 1, "seed of the made-up data: the same seed and sizes give the same data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	r, err := demo.SeedScale(ctx, store, demo.ScaleOptions{ESIMs: *esims, Subscribers: *subscribers, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Added %d subscribers, %d logins and %d eSIMs (%d free, %d allocated, %d retired) with %d plans on their lines, in %s.\n",
		r.Subscribers, r.Logins, r.Free+r.Allocated+r.Retired, r.Free, r.Allocated, r.Retired, r.LinePlans, time.Since(start).Round(time.Second/10))
	return nil
}

// demoYear lays down a simulated year of travellers into a new database,
// with the retention pass run every night, and says how big the file grew.
func demoYear(ctx context.Context, store *db.Store, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo year", flag.ContinueOnError)
	fs.SetOutput(stderr)
	travellers := fs.Int("travellers", 100_000, "subscribers abroad at any time, each with an hourly usage record")
	days := fs.Int("days", 365, "days the clock walks through")
	seed := fs.Uint64("seed", 1, "seed of the made-up data: the same seed and sizes give the same year")
	batch := fs.Int("rollup-batch", db.RollUpBatch, "records a change of the retention pass rolls up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Simulating %d days of %d travellers abroad, usage records kept whole %d days…\n", *days, *travellers, store.Retention.UsageDays)
	fmt.Fprintln(stdout, "day  date        file MB  +MB/30d  records whole  usage days  attachments  emails (with text)  trips  elapsed")
	var last int64
	r, err := demo.SeedYear(ctx, store, demo.YearOptions{Travellers: *travellers, Days: *days, Seed: *seed, RollUpBatch: *batch,
		Progress: func(p demo.YearProgress) {
			f := p.Footprint
			fmt.Fprintf(stdout, "%3d  %s  %7.1f  %7.1f  %13d  %10d  %11d  %7d (%7d)  %5d  %s\n", p.Day, p.At.Format("2006-01-02"),
				mb(f.Bytes()), mb(f.Bytes()-last), f.UsageRecords, f.UsageDays, f.Attachments+f.AttachmentDays, f.Emails, f.EmailTexts,
				p.Trips, p.Elapsed.Round(time.Second))
			last = f.Bytes()
		}})
	if err != nil {
		return err
	}
	f, err := store.Footprint(ctx, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nA year of %d travellers in %s: %d trips, %d lines, %d plans added to a line held, %d usage records, %d emails sent.\n",
		*travellers, r.Elapsed.Round(time.Second), r.Trips, r.Lines, r.TopUps, r.Records, r.Emails)
	if r.RollUpTime > 0 {
		fmt.Fprintf(stdout, "Retention pass: %d records rolled up at %.0f records/s of its changes' time; its longest change %s (%s).\n",
			r.RolledUp, float64(r.RolledUp)/r.RollUpTime.Seconds(), r.Longest.Round(time.Millisecond/10), r.LongestKind)
	}
	fmt.Fprintf(stdout, "File: %.1f MB (%d free pages). By table, with its indexes:\n", mb(f.Bytes()), f.FreePages)
	for _, t := range f.Tables {
		if t.Bytes+t.Indexes >= f.Bytes()/100 {
			fmt.Fprintf(stdout, "  %-22s %8.1f MB  (indexes %.1f MB)\n", t.Table, mb(t.Bytes+t.Indexes), mb(t.Indexes))
		}
	}
	return nil
}

func mb(n int64) float64 { return float64(n) / 1e6 }
