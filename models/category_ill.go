package models

import (
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// illCategory: items borrowed from other libraries for the patron.
var illCategory = Category{
	Slug: "ill", Key: "interlibrary_loans",
	Table: "ill_requests", TimeColumn: "requested_at", DueFrom: "completed_at", Label: "title",
	shared:  []string{"shared.lender"},
	columns: []string{"title", "author", "lender", "requested", "status"},
	Records: recordsOf((*Store).ILLRequests),
	Schedule: &ScheduleRule{Pos: 4,
		RetentionRule: RetentionRule{Key: "ill_days", Label: "Interlibrary loans, after they are completed", Unit: "days", Min: 0, Max: 365,
			Reason: "Long enough to settle questions with the lending library."},
		value: func(r *Retention) *int { return &r.ILLDays },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, 0, r.ILLDays) },
		describe: func(t *i18n.Tr, r Retention) string {
			return t.N("models.interlibrary_loans.retention", int64(r.ILLDays))
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("interlibrary_loans", "ill_requests", "completed_at", n.AddDate(0, 0, -r.ILLDays))}
	},
	Kept:   &SummarySpec{Label: "{r}.title"},
	write:  writeTable[ILLRequest],
	Import: &ImportMapping{Kind: "ill", Model: ILLRequest{}},
}
