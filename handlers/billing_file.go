package handlers

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/carrier/esim-admin/db"
)

// Billing's files: the first load and the nightly full export of the
// subscribers, read as a stream so that memory does not grow with the file.
// JSON Lines holds one subscriber a line, the subscriber API's object with
// its account_number. CSV holds one row per home plan, a subscriber's rows
// together, with SubscriberCSVHeader; a subscriber with no home plan has one
// row with the plan's columns empty.

// SubscriberCSVHeader is the header a CSV file of subscribers must have.
var SubscriberCSVHeader = []string{"account_number", "name", "email", "phone", "status", "as_of",
	"home_plan_id", "home_plan_name", "home_plan_kind", "home_plan_lines", "home_plan_since"}

// FileSubscriber is one subscriber read from a file: its state, the line it
// starts on, and what could not be read of it.
type FileSubscriber struct {
	Line   int
	State  db.BillingSubscriber
	Unread db.Errors // fields named without the line: "email"
}

// ReadSubscriberFile calls fn with the subscribers of a file in batches of
// db.MaxBillingBatch, in the file's order; fn owns each batch. csvFormat chooses CSV over JSON
// Lines. A file it cannot read at all (no header, a broken CSV) is an error.
func ReadSubscriberFile(r io.Reader, csvFormat bool, fn func([]FileSubscriber) error) error {
	batch := make([]FileSubscriber, 0, db.MaxBillingBatch)
	emit := func(s FileSubscriber) error {
		batch = append(batch, s)
		if len(batch) < db.MaxBillingBatch {
			return nil
		}
		err := fn(batch)
		batch = make([]FileSubscriber, 0, db.MaxBillingBatch) // fn may keep the last one
		return err
	}
	var err error
	if csvFormat {
		err = readSubscriberCSV(r, emit)
	} else {
		err = readSubscriberJSONL(r, emit)
	}
	if err != nil {
		return err
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

func bare(name string) string { return name }

func readSubscriberJSONL(r io.Reader, emit func(FileSubscriber) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		st, unread := ReadSubscriberState([]byte(text), bare)
		if err := emit(FileSubscriber{Line: line, State: st, Unread: unread}); err != nil {
			return err
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return errors.New("a line of the file is over 1 MB: is it JSON Lines, one subscriber a line?")
	}
	return sc.Err()
}

func readSubscriberCSV(r io.Reader, emit func(FileSubscriber) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(SubscriberCSVHeader)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read the header: %w", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	if !slices.Equal(header, SubscriberCSVHeader) {
		return fmt.Errorf("the header must be exactly: %s", strings.Join(SubscriberCSVHeader, ","))
	}
	var cur *FileSubscriber
	// The accounts whose rows have ended, to catch a subscriber's rows apart
	// (which would drop home plans): a 64-bit hash each, so a million
	// subscribers take about 40 MB.
	done := map[uint64]bool{}
	key := func(account string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(account))
		return h.Sum64()
	}
	flush := func() error {
		if cur == nil {
			return nil
		}
		done[key(db.NormalAccountNumber(cur.State.AccountNumber))] = true
		s := *cur
		cur = nil
		return emit(s)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return flush()
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		st := SubscriberState{AccountNumber: rec[0], Name: rec[1], Email: rec[2], Phone: rec[3], Status: rec[4], AsOf: rec[5]}
		account := db.NormalAccountNumber(st.AccountNumber)
		if cur == nil || db.NormalAccountNumber(cur.State.AccountNumber) != account {
			if err := flush(); err != nil {
				return err
			}
			b, unread := st.billing(bare)
			cur = &FileSubscriber{Line: line, State: b, Unread: unread}
			if done[key(account)] && account != "" {
				cur.Unread = append(cur.Unread, &db.Error{Code: db.ErrInvalid, Field: "account_number",
					Message: "the rows of account " + account + " must be together"})
			}
		} else if cur.State.Name != st.Name || cur.State.Email != st.Email || cur.State.Phone != st.Phone || cur.State.Status != st.Status {
			cur.Unread = append(cur.Unread, &db.Error{Code: db.ErrInvalid, Field: "account_number",
				Message: fmt.Sprintf("line %d gives account %s other details than its line %d", line, account, cur.Line)})
		}
		if rec[6] == "" && rec[7] == "" && rec[8] == "" {
			continue // a subscriber with no home plan
		}
		hp := homePlanJSON{ID: rec[6], Name: rec[7], Kind: rec[8], Since: rec[10]}
		if rec[9] != "" {
			n, err := strconv.Atoi(rec[9])
			if err != nil {
				cur.Unread = append(cur.Unread, &db.Error{Code: db.ErrInvalid, Field: "home_plan_lines", Message: "home_plan_lines must be a whole number"})
			}
			hp.Lines = &n
		}
		plan, unread := SubscriberState{HomePlans: []homePlanJSON{hp}}.billing(bare)
		cur.State.HomePlans = append(cur.State.HomePlans, plan.HomePlans...)
		cur.Unread = append(cur.Unread, unread...)
	}
}
