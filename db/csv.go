package db

import (
	"encoding/csv"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The portal's CSV exports (the eSIM List, the audit log) carry what people
// typed: subscriber, login and line names. A spreadsheet runs a cell that
// starts with a formula character as a formula (OWASP "CSV injection"), so
// every cell of every export goes through SpreadsheetSafe, by CSVWriter.

// formulaStarts are the characters with which a spreadsheet takes a cell for
// a formula: = + - @, their fullwidth and small forms, which some
// spreadsheets read as the ASCII ones, and the control characters that
// Excel skips before one.
const formulaStarts = "=+-@\t\r\n\x00＝＋－＠﹦﹢﹣﹫"

// SpreadsheetSafe keeps s from running as a formula when the export is
// opened in a spreadsheet: a cell that starts with a formula character, or
// with spaces or invisible characters (zero-width, bidi controls) before
// one, gets a leading apostrophe, which spreadsheets read as "this is text"
// and do not show.
func SpreadsheetSafe(s string) string {
	rest := strings.TrimLeftFunc(s, func(r rune) bool {
		return r == utf8.RuneError || (unicode.IsSpace(r) && r != '\t' && r != '\r' && r != '\n') || unicode.Is(unicode.Cf, r)
	})
	if r, _ := utf8.DecodeRuneInString(rest); rest != "" && strings.ContainsRune(formulaStarts, r) {
		return "'" + s
	}
	return s
}

// CSVWriter writes CSV records, every cell made SpreadsheetSafe.
type CSVWriter struct {
	*csv.Writer
	cells []string
}

// NewCSVWriter writes CSV to w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{Writer: csv.NewWriter(w)} }

// Write writes one record.
func (w *CSVWriter) Write(record []string) error {
	w.cells = w.cells[:0]
	for _, cell := range record {
		w.cells = append(w.cells, SpreadsheetSafe(cell))
	}
	return w.Writer.Write(w.cells)
}
