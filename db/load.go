package db

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
)

// Empty reports whether the database holds no login, subscriber, plan or
// eSIM yet: a new database, the only kind a made-up data set may go into.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	var used bool
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers) OR EXISTS (SELECT 1 FROM logins)
		OR EXISTS (SELECT 1 FROM plans) OR EXISTS (SELECT 1 FROM esims)`).Scan(&used)
	return !used, err
}

// Load is for loading a large made-up data set fast, and for nothing else:
// fn adds its rows through the Loader, and they are written many rows a
// statement, in one change of the committer. None of the store's rules, audit
// entries or emails apply, so whatever a person reads in the rows must be what
// the portal would have written: the Loader gives the ids, formats the times
// and numbers the orders as the store does, and the caller takes line names,
// country names and ICCIDs from the store's exported helpers (CleanLineName,
// CountryName, LuhnDigit). fn must use no other write of the store.
//
// For the load, the writer connection's page cache is made big enough to
// keep the indexes of a million random inserts in memory, and statement
// journals stay off the disk; both are set back after. Building an index
// once, sorted, is many times faster than keeping it up to date through a
// million random inserts: the indexes of the tables the Loader writes are
// dropped for the load and made again from their stored definitions, in the
// same change (UNIQUE ones check every row again as they are made).
func (s *Store) Load(ctx context.Context, fn func(l *Loader) error) error {
	if ctx.Value(inChange{}) != nil {
		return errNestedWrite // the writer connection is the change's: waiting for it would never end
	}
	// Pragmas, not writes: they go to the one writer connection between the
	// committer's transactions.
	for _, p := range []string{`PRAGMA cache_size = -262144`, `PRAGMA temp_store = MEMORY`} {
		if _, err := s.write.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	defer s.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = `+defaultCacheSize)
	defer s.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = DEFAULT`)
	return s.inTx(ctx, func(ctx context.Context, c *change) error {
		l, err := newLoader(ctx, c)
		if err != nil {
			return err
		}
		defer l.close()
		indexes, err := dropIndexes(ctx, c, "subscribers", "domestic_plans", "esims", "esim_plans", "usage_records", "usage_charges")
		if err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
		for _, w := range l.writers() {
			if err := w.flush(ctx); err != nil {
				return fmt.Errorf("load %s: %w", w.table, err)
			}
		}
		// No ANALYZE: a real database has no statistics either, and the
		// queries must be measured as SQLite plans them there.
		for _, create := range indexes {
			if _, err := c.ExecContext(ctx, create); err != nil {
				return fmt.Errorf("%s: %w", create, err)
			}
		}
		// The load inserts eSIMs behind the counts' back: count them again.
		return recountStock(ctx, c)
	})
}

// Loader adds the rows of a bulk load (Store.Load). The rows a row refers to
// (its subscriber, login, eSIM, plan on a line) must have been added before it.
type Loader struct {
	ctx context.Context
	c   *change

	logins, subscribers, homePlans, esims, linePlans, usage, charges *rowWriter
	// The ids the next rows get: the load's change holds the write lock.
	subscriberID, linePlanID, usageID int64
}

func newLoader(ctx context.Context, c *change) (*Loader, error) {
	l := &Loader{ctx: ctx, c: c}
	for _, next := range []struct {
		id    *int64
		table string
	}{{&l.subscriberID, "subscribers"}, {&l.linePlanID, "esim_plans"}, {&l.usageID, "usage_records"}} {
		if err := c.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM `+next.table).Scan(next.id); err != nil {
			return nil, err
		}
	}
	l.logins = newRowWriter(c, "logins", "email, name, role, password_hash, created_at", 5)
	l.subscribers = newRowWriter(c, "subscribers", "id, account_number, name, email, phone, created_at", 6)
	l.homePlans = newRowWriter(c, "domestic_plans", "subscriber_id, name, kind, lines, since", 5, l.subscribers)
	l.esims = newRowWriter(c, "esims",
		"iccid, imsi_profile, smdp_address, matching_id, state, stocked_at, subscriber_id, line_name, allocated_at, allocated_by", 10, l.subscribers, l.logins)
	l.linePlans = newRowWriter(c, "esim_plans",
		"id, order_number, iccid, plan_id, state, added_at, added_by, activated_at, expires_at, data_bytes, used_bytes, ended_at, price_cents, currency", 14, l.esims)
	l.usage = newRowWriter(c, "usage_records", "id, record_id, iccid, country, bytes, start_at, end_at, uncovered_bytes, received_at", 9, l.esims)
	// A charge refers to its record and its plan, which may still wait in
	// their batches: they go first, so every key is there when it is checked.
	// (Deferring the checks instead costs a scan of the charges for each plan
	// written while any is missing: minutes at a million eSIMs.)
	l.charges = newRowWriter(c, "usage_charges", "usage_record, esim_plan_id, bytes", 3, l.linePlans, l.usage)
	return l, nil
}

// writers are the Loader's tables, parents before the rows that refer to them.
func (l *Loader) writers() []*rowWriter {
	return []*rowWriter{l.logins, l.subscribers, l.homePlans, l.esims, l.linePlans, l.usage, l.charges}
}

func (l *Loader) close() {
	for _, w := range l.writers() {
		w.close()
	}
}

// add adds a row to w, and names the table when it fails.
func (l *Loader) add(w *rowWriter, values ...any) error {
	if err := w.add(l.ctx, values...); err != nil {
		return fmt.Errorf("load %s: %w", w.table, err)
	}
	return nil
}

// HasLogin reports whether a login has this email address.
func (l *Loader) HasLogin(email string) (bool, error) {
	var has bool
	err := l.c.QueryRowContext(l.ctx, `SELECT EXISTS (SELECT 1 FROM logins WHERE email = ?)`, email).Scan(&has)
	return has, err
}

// HasICCIDPrefix reports whether an eSIM's ICCID starts with prefix (digits).
func (l *Loader) HasICCIDPrefix(prefix string) (bool, error) {
	var has bool
	err := l.c.QueryRowContext(l.ctx, `SELECT EXISTS (SELECT 1 FROM esims WHERE iccid >= ? AND iccid < ?)`, prefix, prefix+"a").Scan(&has)
	return has, err
}

// LoginRow is a login that can never sign in: it is there to have done
// things in the data set.
type LoginRow struct {
	Email, Name string
	Role        Role
	CreatedAt   time.Time
}

// noSignIn is a password hash no password matches.
const noSignIn = "!scale-data-no-sign-in"

// Login adds a login that can never sign in.
func (l *Loader) Login(r LoginRow) error {
	return l.add(l.logins, r.Email, r.Name, r.Role, noSignIn, formatTime(r.CreatedAt))
}

// Logins are the ids of the logins not disabled, the loaded ones included,
// oldest first.
func (l *Loader) Logins() ([]int64, error) {
	if err := l.logins.flush(l.ctx); err != nil {
		return nil, fmt.Errorf("load logins: %w", err)
	}
	rows, err := l.c.QueryContext(l.ctx, `SELECT id FROM logins WHERE disabled_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Subscriber adds a subscriber with their home plans, as AddSubscribers
// would (account number, name, email, phone, since; each home plan's name,
// kind, lines and since), and returns the subscriber's id.
func (l *Loader) Subscriber(ns NewSubscriber) (int64, error) {
	l.subscriberID++
	id := l.subscriberID
	since := cmp.Or(ns.Since, l.c.now)
	if err := l.add(l.subscribers, id, ns.AccountNumber, ns.Name, ns.Email, ns.Phone, formatTime(since)); err != nil {
		return 0, err
	}
	for _, p := range ns.Home {
		if err := l.add(l.homePlans, id, p.Name, p.Kind, max(p.Lines, 1), formatTime(cmp.Or(p.Since, since))); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// ESIMRow is an eSIM of the inventory; a free or retired one has no
// subscriber, line name, allocation time or login.
type ESIMRow struct {
	ICCID        string
	IMSIProfile  int
	SMDPAddress  string
	MatchingID   string
	State        string // StateFree, StateAllocated or StateRetired
	StockedAt    time.Time
	SubscriberID int64
	LineName     string
	AllocatedAt  time.Time
	AllocatedBy  int64 // a login's id
}

// ESIM adds an eSIM.
func (l *Loader) ESIM(r ESIMRow) error {
	return l.add(l.esims, r.ICCID, r.IMSIProfile, r.SMDPAddress, r.MatchingID, r.State, formatTime(r.StockedAt),
		nullID(r.SubscriberID), nullString(r.LineName), timeArg(r.AllocatedAt), nullID(r.AllocatedBy))
}

// LinePlanRow is a plan on a line; the times a plan has not reached yet are
// zero.
type LinePlanRow struct {
	ICCID       string
	PlanID      int64
	State       string // a Plan… state
	AddedAt     time.Time
	AddedBy     int64 // a login's id
	ActivatedAt time.Time
	ExpiresAt   time.Time
	DataBytes   int64
	UsedBytes   int64
	EndedAt     time.Time
	PriceCents  int
	Currency    string
}

// LinePlan adds a plan to a line, numbers its order as Add line does, and
// returns its id.
func (l *Loader) LinePlan(r LinePlanRow) (int64, error) {
	l.linePlanID++
	id := l.linePlanID
	return id, l.add(l.linePlans, id, OrderNumber(id, r.AddedAt), r.ICCID, r.PlanID, r.State, formatTime(r.AddedAt), r.AddedBy,
		timeArg(r.ActivatedAt), timeArg(r.ExpiresAt), r.DataBytes, r.UsedBytes, timeArg(r.EndedAt), r.PriceCents, r.Currency)
}

// UsageRow is a usage record of the network, charged whole to one plan on
// the eSIM's line.
type UsageRow struct {
	RecordID   string // the network's
	ICCID      string
	Country    string
	Bytes      int64
	Start, End time.Time
	ReceivedAt time.Time
	LinePlanID int64 // the plan it was charged to
}

// Usage adds a usage record and its charge.
func (l *Loader) Usage(r UsageRow) error {
	l.usageID++
	if err := l.add(l.usage, l.usageID, r.RecordID, r.ICCID, r.Country, r.Bytes, formatTime(r.Start), formatTime(r.End), 0, formatTime(r.ReceivedAt)); err != nil {
		return err
	}
	return l.add(l.charges, l.usageID, r.LinePlanID, r.Bytes)
}

// dropIndexes drops the indexes of tables that have a definition of their
// own (not those of a PRIMARY KEY or UNIQUE column) and returns the
// statements that make them again.
func dropIndexes(ctx context.Context, c *change, tables ...string) ([]string, error) {
	var names, creates []string
	for _, table := range tables {
		rows, err := c.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, table)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name, create string
			if err := rows.Scan(&name, &create); err != nil {
				rows.Close()
				return nil, err
			}
			names, creates = append(names, name), append(creates, create)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, name := range names {
		if _, err := c.ExecContext(ctx, `DROP INDEX "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return nil, err
		}
	}
	return creates, nil
}

// Unsynced is for making a large made-up data set in many changes, and for
// nothing else: until the returned func is called, a commit does not wait
// for the disk (synchronous=OFF), so a crash of the machine may lose or
// corrupt the database, and the writer keeps a larger page cache. A data
// set made this way is made again rather than recovered.
func (s *Store) Unsynced(ctx context.Context) (restore func(), err error) {
	// Pragmas, not writes: they go to the one writer connection between the
	// committer's transactions.
	for _, p := range []string{`PRAGMA synchronous = OFF`, `PRAGMA cache_size = -262144`} {
		if _, err := s.write.ExecContext(ctx, p); err != nil {
			return nil, err
		}
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		s.write.ExecContext(ctx, `PRAGMA synchronous = `+defaultSynchronous)
		s.write.ExecContext(ctx, `PRAGMA cache_size = `+defaultCacheSize)
	}, nil
}
