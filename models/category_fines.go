package models

import (
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// finesCategory: what the patron owes, and what was paid or waived.
var finesCategory = Category{
	Slug: "fines", Key: "fines",
	Table: "fines", TimeColumn: "assessed_at", DueFrom: "settled_at", Label: "description",
	shared:  []string{"shared.collection"},
	columns: []string{"what_for", "item", "amount", "charged", "status"},
	Records: recordsOf((*Store).Fines),
	Schedule: &ScheduleRule{Pos: 3,
		RetentionRule: RetentionRule{Key: "fine_days", Label: "Fines and fees, after they are paid or waived", Unit: "days", Min: 0, Max: 365,
			Reason: "Long enough to settle a dispute about a payment."},
		value: func(r *Retention) *int { return &r.FineDays },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, 0, r.FineDays) },
		describe: func(t *i18n.Tr, r Retention) string {
			return t.N("models.fines.retention", int64(r.FineDays))
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("fines", "fines", "settled_at", n.AddDate(0, 0, -r.FineDays))}
	},
	Kept:   &SummarySpec{Label: "{r}.description"},
	write:  writeTable[Fine],
	Import: &ImportMapping{Kind: "fines", Model: Fine{}, From: map[string]string{"amount_cents": "amount"}},
}
