package models

import (
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// SQLite's own lower() folds ASCII letters only, so a search for "ángela"
// missed "Ángela" on SQLite and found her on PostgreSQL. Every SQLite
// connection gets a lower() that folds every alphabet, as PostgreSQL's
// does; the searches (staff looking up a patron, a patron's reading
// history) compare LOWER(column) with Go's strings.ToLower of what was
// typed. No index or stored value depends on lower().
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("lower", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return []byte(strings.ToLower(string(v))), nil
		}
		return args[0], nil
	})
}
