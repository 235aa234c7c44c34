// Package rules holds the portal's rules on lines, plans and data, apart
// from the SQL that loads and keeps them: which plan a byte of usage goes
// to, when a plan starts and ends (charge.go), which notice a plan is owed
// (notices.go), the complimentary allowance (model.go), what a line name
// may be (linename.go), why a line has no data (whynodata.go), and the
// words every screen uses for data, days, money and countries (words.go,
// countries.go). It holds the model these rules act on (Plan, LinePlan,
// ESIM, …) too.
//
// Nothing here reads a database or a clock: the store (package db) loads
// what a rule needs, calls it with the time of its change, and writes what
// it decided, in one transaction; the views and the emails call the same
// rules to show it. So a rule changes here, with its table-driven test,
// and no SQL changes with it. It imports nothing of the project.
package rules
