package models

// loansCategory: what the patron has checked out now. A returned loan is
// deleted by the ILS import (or moved to the reading history).
var loansCategory = Category{
	Slug: "loans", Key: "loans",
	Table: "loans", TimeColumn: "checked_out_at", Label: "title",
	shared:  []string{"shared.collection"},
	columns: []string{"title", "author", "checked_out", "due", "renewals", "branch"},
	Records: recordsOf((*Store).Loans),
	Kept:    &SummarySpec{Label: "{r}.title"},
	write:   writeTable[Loan],
	Import:  &ImportMapping{Kind: "loans", Model: Loan{}},
}
