package models

import "time"

// finesCategory: what the patron owes, and what was paid or waived.
var finesCategory = Category{
	Slug: "fines", One: "fine or fee", Many: "fines and fees", Key: "fines", Title: "Fines and fees",
	Table: "fines", TimeColumn: "assessed_at", DueFrom: "settled_at", Label: "description",
	Purpose:    "To record what is owed to the library, and what was paid or waived.",
	Retention:  "90 days after a fine is paid or waived.",
	SharedWith: alsoCourt("A collection agency, only to recover materials."),
	Empty:      "You owe nothing, and no paid or waived fines are on record.",
	Columns:    []string{"What for", "Item", "Amount", "Charged", "Status"},
	Records:    recordsOf((*Store).Fines),
	Schedule: &ScheduleRule{Pos: 3,
		RetentionRule: RetentionRule{Key: "fine_days", Label: "Fines and fees, after they are paid or waived", Unit: "days", Min: 0, Max: 365,
			Reason: "Long enough to settle a dispute about a payment."},
		value: func(r *Retention) *int { return &r.FineDays },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, 0, r.FineDays) },
		describe: func(r Retention) string {
			return counted(r.FineDays, "day", "days") + " after a fine is paid or waived."
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("fines", "fines", "settled_at", n.AddDate(0, 0, -r.FineDays))}
	},
	Kept:   &SummarySpec{Label: "{r}.description"},
	write:  writeTable[Fine],
	Import: &ImportMapping{Kind: "fines", Model: Fine{}, From: map[string]string{"amount_cents": "amount"}},
}
