package db

import (
	"context"
	"database/sql"
	"strings"
)

// rowWriter inserts rows into a table many at a time, through a statement of
// a full batch of rows prepared once: at a thousand rows, the cost of a
// statement, not SQLite's, is what a row-by-row insert pays for. Applying a
// batch of usage and a bulk load (Loader) both write through it.
type rowWriter struct {
	tx      *change
	table   string
	columns string
	width   int
	rows    int // rows a statement
	args    []any
	full    *sql.Stmt    // rows rows
	parents []*rowWriter // rows that these rows refer to: written first
}

// valuesAtOnce is about how many values a statement carries: a hundred rows
// of ten columns.
const valuesAtOnce = 1000

// newRowWriter writes rows of width values into columns of table; the rows of
// parents are written before any of these, so a foreign key finds its row.
func newRowWriter(tx *change, table, columns string, width int, parents ...*rowWriter) *rowWriter {
	return &rowWriter{tx: tx, table: table, columns: columns, width: width, rows: max(1, valuesAtOnce/width), parents: parents}
}

// insert is the statement of n rows; the text is made of constants only.
func (w *rowWriter) insert(n int) string {
	row := "(" + strings.Repeat("?, ", w.width-1) + "?)"
	return "INSERT INTO " + w.table + " (" + w.columns + ") VALUES " + strings.Repeat(row+", ", n-1) + row
}

func (w *rowWriter) add(ctx context.Context, values ...any) error {
	w.args = append(w.args, values...)
	if len(w.args) < w.rows*w.width {
		return nil
	}
	if err := w.flushParents(ctx); err != nil {
		return err
	}
	if w.full == nil {
		var err error
		if w.full, err = w.tx.PrepareContext(ctx, w.insert(w.rows)); err != nil {
			return err
		}
	}
	_, err := w.full.ExecContext(ctx, w.args...)
	w.args = w.args[:0]
	return err
}

// flush writes the rows not written yet, and first those of the parents.
func (w *rowWriter) flush(ctx context.Context) error {
	if err := w.flushParents(ctx); err != nil {
		return err
	}
	if len(w.args) == 0 {
		return nil
	}
	_, err := w.tx.ExecContext(ctx, w.insert(len(w.args)/w.width), w.args...)
	w.args = w.args[:0]
	return err
}

func (w *rowWriter) flushParents(ctx context.Context) error {
	for _, p := range w.parents {
		if err := p.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (w *rowWriter) close() {
	if w.full != nil {
		w.full.Close()
	}
}
