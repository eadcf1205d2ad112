package models

import (
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// holdsCategory: items set aside for the patron, deleted a while after a
// hold is filled or cancelled.
var holdsCategory = Category{
	Slug: "holds", Key: "holds",
	Table: "holds", TimeColumn: "placed_at", DueFrom: "closed_at", Label: "title",
	columns: []string{"title", "author", "pickup", "placed", "status"},
	Records: recordsOf((*Store).Holds),
	Schedule: &ScheduleRule{Pos: 2,
		RetentionRule: RetentionRule{Key: "hold_days", Label: "Holds, after they are filled or cancelled", Unit: "days", Min: 0, Max: 90,
			Reason: "Long enough to answer a question about a hold, no longer."},
		value: func(r *Retention) *int { return &r.HoldDays },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, 0, r.HoldDays) },
		describe: func(t *i18n.Tr, r Retention) string {
			return t.N("models.holds.retention", int64(r.HoldDays))
		},
		empty: func(t *i18n.Tr, r Retention) string {
			return t.N("models.holds.empty", int64(r.HoldDays))
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("holds", "holds", "closed_at", n.AddDate(0, 0, -r.HoldDays))}
	},
	Kept:   &SummarySpec{Label: "{r}.title"},
	write:  writeTable[Hold],
	Import: &ImportMapping{Kind: "holds", Model: Hold{}},
}
