package models

// MigrateTo exposes migrateTo to the external tests, which build a
// database as an older release left it.
var MigrateTo = migrateTo
