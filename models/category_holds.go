package models

import "time"

// holdsCategory: items set aside for the patron, deleted a while after a
// hold is filled or cancelled.
var holdsCategory = Category{
	Slug: "holds", One: "hold", Many: "holds", Key: "holds", Title: "Holds",
	Table: "holds", TimeColumn: "placed_at", DueFrom: "closed_at", Label: "title",
	Purpose:    "To set items aside for you and tell you when they are ready.",
	Retention:  "30 days after a hold is filled or cancelled.",
	SharedWith: CourtOrder,
	Empty:      "You have no holds. Items you reserve appear here until 30 days after you collect or cancel them.",
	Columns:    []string{"Title", "Author", "Pick up at", "Placed", "Status"},
	Records:    recordsOf((*Store).Holds),
	Schedule: &ScheduleRule{Pos: 2,
		RetentionRule: RetentionRule{Key: "hold_days", Label: "Holds, after they are filled or cancelled", Unit: "days", Min: 0, Max: 90,
			Reason: "Long enough to answer a question about a hold, no longer."},
		value: func(r *Retention) *int { return &r.HoldDays },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, 0, r.HoldDays) },
		describe: func(r Retention) string {
			return counted(r.HoldDays, "day", "days") + " after a hold is filled or cancelled."
		},
		empty: func(r Retention) string {
			return "You have no holds. Items you reserve appear here until " + counted(r.HoldDays, "day", "days") +
				" after you collect or cancel them."
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("holds", "holds", "closed_at", n.AddDate(0, 0, -r.HoldDays))}
	},
	Kept:   &SummarySpec{Label: "{r}.title"},
	write:  writeTable[Hold],
	Import: &ImportMapping{Kind: "holds", Model: Hold{}},
}
