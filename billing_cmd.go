package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/carrier/esim-admin/db"
	"github.com/carrier/esim-admin/handlers"
)

// addAPIClient makes an API client and prints its key, this once: the way
// to the first key before any team lead can sign in.
func addAPIClient(ctx context.Context, store *db.Store, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api-clients add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the system that will call the API, such as Billing")
	var scopes []string
	fs.Func("scope", "a scope it may use: "+strings.Join(db.Scopes, ", ")+" (repeat, or separate with commas)", func(v string) error {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				scopes = append(scopes, s)
			}
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	client, key, err := store.AddAPIClient(ctx, *name, scopes, db.Login{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Added API client %s with the scopes %s. Its key, shown only this once:\n", client.Name, strings.Join(client.Scopes, ", "))
	fmt.Fprintln(stdout, key)
	return nil
}

// importReport counts what an import of billing's file did.
type importReport struct {
	counts  map[string]int // by db.Sync… outcome
	refused int            // subscribers of refused batches
	lines   []string       // what to fix, by line
}

func (r *importReport) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d stale (older than the state held), %d refused",
		r.counts[db.SyncCreated], r.counts[db.SyncUpdated], r.counts[db.SyncUnchanged], r.counts[db.SyncStale], r.refused)
}

// importSubscribers applies billing's file of subscribers in batches of
// 1,000, each all or nothing: a bad row refuses its batch, which is reported
// by line, and the rest goes on. With --full the file is the whole customer
// base, read once first to check it and to count the subscribers it would
// close; then applied, and those missing closed.
func importSubscribers(ctx context.Context, store *db.Store, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("subscribers import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	full := fs.Bool("full", false, "the file is the whole customer base: close the subscribers it lacks")
	allow := fs.Int("allow-closing", 0, "with --full, how many subscribers the file is expected to close, when more than 2%")
	format := fs.String("format", "", "csv or jsonl; by default from the file's extension")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: subscribers import [--full [--allow-closing N]] FILE")
	}
	path := fs.Arg(0)
	isCSV := *format == "csv" || (*format == "" && strings.EqualFold(filepath.Ext(path), ".csv"))
	if *format != "" && *format != "csv" && *format != "jsonl" {
		return fmt.Errorf("--format must be csv or jsonl, not %q", *format)
	}
	var closing []string
	if *full {
		var err error
		if closing, err = accountsToClose(ctx, store, path, isCSV, *allow, stderr); err != nil {
			return err
		}
	}
	// A first load indexes its subscribers for search once, at its end.
	deferred, err := store.DeferSearchIndex(ctx)
	if err != nil {
		return err
	}
	rep := &importReport{counts: map[string]int{}}
	prog := newProgress(stderr, path, "Importing")
	err = eachFileBatch(path, isCSV, prog, func(batch []handlers.FileSubscriber) error {
		return applyBatch(ctx, store, batch, rep)
	})
	prog.done()
	if deferred {
		start := time.Now()
		fmt.Fprint(stderr, "Indexing the new subscribers for search…")
		err = errors.Join(err, store.CatchUpSearchIndex(context.WithoutCancel(ctx)))
		fmt.Fprintf(stderr, " %s.\n", time.Since(start).Round(100*time.Millisecond))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Imported %s: %s.\n", path, rep)
	for _, l := range rep.lines {
		fmt.Fprintln(stdout, "  "+l)
	}
	if *full {
		if rep.refused > 0 {
			fmt.Fprintf(stdout, "Closed nobody: %d subscribers of the file were refused, so it is not the whole customer base. Fix the lines above and import it again.\n", rep.refused)
			return errors.New("some subscribers were refused")
		}
		closed := 0
		for b := range slices.Chunk(closing, db.MaxBillingBatch) {
			n, err := store.CloseAccounts(ctx, b, store.Now(), 0)
			if err != nil {
				return err
			}
			closed += n
		}
		fmt.Fprintf(stdout, "Closed %d subscribers that the file no longer holds.\n", closed)
	}
	if rep.refused > 0 {
		return errors.New("some subscribers were refused")
	}
	return nil
}

// eachFileBatch reads the file at path in batches and calls fn with each,
// counting its bytes for the progress line. The next batch is read while fn
// works on one: reading JSON and writing SQL then share the two cores.
func eachFileBatch(path string, isCSV bool, prog *progress, fn func([]handlers.FileSubscriber) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		prog.total = fi.Size()
	}
	batches := make(chan []handlers.FileSubscriber, 1)
	stop := make(chan struct{})
	read := make(chan error, 1)
	go func() {
		defer close(batches)
		read <- handlers.ReadSubscriberFile(&countingReader{r: f, n: &prog.read}, isCSV, func(batch []handlers.FileSubscriber) error {
			select {
			case batches <- batch:
				return nil
			case <-stop:
				return errStopped
			}
		})
	}()
	for batch := range batches {
		if err := fn(batch); err != nil {
			close(stop)
			for range batches { // let the reader end
			}
			return err
		}
		prog.add(len(batch))
	}
	return <-read
}

var errStopped = errors.New("stopped")

// applyBatch applies one batch, all or nothing; a refused batch's problems
// are named by line, every bad line of it.
func applyBatch(ctx context.Context, store *db.Store, batch []handlers.FileSubscriber, rep *importReport) error {
	states := make([]db.BillingSubscriber, len(batch))
	unread := false
	for i, s := range batch {
		states[i] = s.State
		unread = unread || len(s.Unread) > 0
	}
	var results []db.SyncResult
	var err error
	if unread {
		// What could be read is checked too, so the report names every bad line.
		err = db.CheckBillingBatch(states, store.Now()).Err()
	} else {
		results, err = store.SyncSubscribers(ctx, states, 0)
	}
	refusals := db.Refusals(err)
	if err != nil && refusals == nil {
		return err
	}
	if !unread && refusals == nil {
		for _, r := range results {
			rep.counts[r.Outcome]++
		}
		return nil
	}
	byRecord := map[int][]string{}
	for i, s := range batch {
		for _, e := range s.Unread {
			byRecord[i] = append(byRecord[i], lineError(s.Line, e.Field, e.Message))
		}
	}
	for _, e := range refusals {
		rec, field, _ := strings.Cut(e.Field, ".")
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rec, "subscribers["), "]"))
		if err != nil || i < 0 || i >= len(batch) || len(batch[i].Unread) > 0 {
			continue // a record that could not be read is named for that alone
		}
		byRecord[i] = append(byRecord[i], lineError(batch[i].Line, field, e.Message))
	}
	rep.refused += len(batch)
	rep.lines = append(rep.lines, fmt.Sprintf("Lines %d–%d were not imported:", batch[0].Line, batch[len(batch)-1].Line))
	for i := range batch {
		for _, p := range byRecord[i] {
			rep.lines = append(rep.lines, "  "+p)
		}
	}
	return nil
}

func lineError(line int, field, msg string) string {
	if field == "" {
		return fmt.Sprintf("line %d: %s", line, msg)
	}
	return fmt.Sprintf("line %d: %s: %s", line, field, msg)
}

// accountsToClose reads the whole file once, without writing, and returns
// the accounts the portal holds open that it lacks; it refuses a file that
// would close too many (db.CheckClosing).
func accountsToClose(ctx context.Context, store *db.Store, path string, isCSV bool, allow int, stderr io.Writer) ([]string, error) {
	inFile := map[string]bool{}
	prog := newProgress(stderr, path, "Checking")
	err := eachFileBatch(path, isCSV, prog, func(batch []handlers.FileSubscriber) error {
		for _, s := range batch {
			inFile[db.NormalAccountNumber(s.State.AccountNumber)] = true
		}
		return nil
	})
	prog.done()
	if err != nil {
		return nil, err
	}
	var closing []string
	held := 0
	err = store.EachOpenAccount(ctx, func(a string) error {
		held++
		if !inFile[a] {
			closing = append(closing, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return closing, db.CheckClosing(len(closing), held, allow)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress is one line on the terminal, rewritten at most once a second:
// subscribers read, their rate and the time left by the bytes still to read.
type progress struct {
	w           io.Writer
	what, path  string
	start, last time.Time
	rows        int
	read        atomic.Int64 // bytes, by the reader
	total       int64
	shown       bool
}

func newProgress(w io.Writer, path, what string) *progress {
	now := time.Now()
	return &progress{w: w, what: what, path: path, start: now, last: now}
}

func (p *progress) add(rows int) {
	p.rows += rows
	now := time.Now()
	if now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	rate := float64(p.rows) / elapsed.Seconds()
	left := "?"
	if read := p.read.Load(); read > 0 && p.total > read {
		left = (time.Duration(float64(elapsed) * float64(p.total-read) / float64(read))).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s %s: %d subscribers, %.0f/s, about %s left   ", p.what, p.path, p.rows, rate, left)
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintf(p.w, "\r%s %s: %d subscribers in %s.%s\n", p.what, p.path, p.rows, time.Since(p.start).Round(100*time.Millisecond), strings.Repeat(" ", 20))
	}
}
