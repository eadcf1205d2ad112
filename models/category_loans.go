package models

// loansCategory: what the patron has checked out now. A returned loan is
// deleted by the ILS import (or moved to the reading history).
var loansCategory = Category{
	Slug: "loans", One: "item", Many: "items", Key: "loans", Title: "Current loans",
	Table: "loans", TimeColumn: "checked_out_at", Label: "title",
	Purpose:    "To know what you have borrowed and when it is due.",
	Retention:  "Until you return the item; then it is deleted, unless you keep a reading history.",
	SharedWith: alsoCourt("A collection agency, only to recover long-overdue materials."),
	Empty:      "You have nothing checked out. Items you borrow appear here until you return them.",
	Columns:    []string{"Title", "Author", "Checked out", "Due", "Renewals", "Branch"},
	Records:    recordsOf((*Store).Loans),
	Kept:       &SummarySpec{Label: "{r}.title"},
	write:      writeTable[Loan],
	Import:     &ImportMapping{Kind: "loans", Model: Loan{}},
}
