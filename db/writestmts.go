package db

import (
	"context"
	"database/sql"
)

// writeStmts are the writer's statements, prepared once on its one
// connection and kept, as the read pool's are: parsing the dozen statements
// of an Add line took a third of the committer's time. Only the committer's
// goroutine uses it, so it has no lock.
//
// A statement cannot be prepared on the connection while a transaction
// holds it (the pool's one connection would wait for itself), so a
// statement first runs as it is and is prepared once its batch has
// committed; from the next batch on, it runs prepared.
type writeStmts struct {
	kept   map[string]*sql.Stmt
	wanted map[string]bool
}

// maxStatementLen bounds the text of a statement the writer keeps: longer
// ones are made for one batch of rows (VALUES lists) and would not be run
// again.
const maxStatementLen = 2048

func newWriteStmts() *writeStmts {
	return &writeStmts{kept: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// prepare prepares the statements run as they were in the last batch. When
// maxStatements are kept, it starts again from none: the ones still in use
// come back after a batch.
func (w *writeStmts) prepare(db *sql.DB) {
	for query := range w.wanted {
		delete(w.wanted, query)
		if len(w.kept) >= maxStatements {
			w.close()
		}
		if st, err := db.Prepare(query); err == nil {
			w.kept[query] = st
		}
	}
}

func (w *writeStmts) close() {
	for query, st := range w.kept {
		st.Close()
		delete(w.kept, query)
	}
}

// txStmts are the writer's kept statements as one transaction uses them,
// shared by the changes of its batch.
type txStmts struct {
	*writeStmts
	tx   *sql.Tx
	used map[string]*sql.Stmt
}

func (w *writeStmts) forTx(tx *sql.Tx) *txStmts {
	return &txStmts{writeStmts: w, tx: tx, used: map[string]*sql.Stmt{}}
}

// stmt is the kept statement of the query in this transaction, nil when
// none is kept yet.
func (t *txStmts) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := t.used[query]; ok {
		return st
	}
	kept, ok := t.kept[query]
	if !ok {
		if len(query) <= maxStatementLen {
			t.wanted[query] = true
		}
		return nil
	}
	st := t.tx.StmtContext(ctx, kept)
	t.used[query] = st
	return st
}

func (t *txStmts) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// ExecContext runs a statement of the change, prepared once.
func (c *change) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.stmts.exec(ctx, query, args...)
}

// QueryContext runs a query of the change, prepared once.
func (c *change) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmts.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query of one row of the change, prepared once.
func (c *change) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmts.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.Tx.QueryRowContext(ctx, query, args...)
}
