package models

import "time"

// illCategory: items borrowed from other libraries for the patron.
var illCategory = Category{
	Slug: "ill", One: "request", Many: "requests", Key: "interlibrary_loans", Title: "Interlibrary loans",
	Table: "ill_requests", TimeColumn: "requested_at", DueFrom: "completed_at", Label: "title",
	Purpose:    "To borrow items from other libraries for you.",
	Retention:  "90 days after the loan is completed or cancelled.",
	SharedWith: alsoCourt("The lending library, only what the loan needs."),
	Empty:      "You have no interlibrary loan requests.",
	Columns:    []string{"Title", "Author", "Lending library", "Requested", "Status"},
	Records:    recordsOf((*Store).ILLRequests),
	Schedule: &ScheduleRule{Pos: 4,
		RetentionRule: RetentionRule{Key: "ill_days", Label: "Interlibrary loans, after they are completed", Unit: "days", Min: 0, Max: 365,
			Reason: "Long enough to settle questions with the lending library."},
		value: func(r *Retention) *int { return &r.ILLDays },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, 0, r.ILLDays) },
		describe: func(r Retention) string {
			return counted(r.ILLDays, "day", "days") + " after the loan is completed or cancelled."
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("interlibrary_loans", "ill_requests", "completed_at", n.AddDate(0, 0, -r.ILLDays))}
	},
	Kept:   &SummarySpec{Label: "{r}.title"},
	write:  writeTable[ILLRequest],
	Import: &ImportMapping{Kind: "ill", Model: ILLRequest{}},
}
