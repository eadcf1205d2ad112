package models

import (
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// referenceCategory: questions the patron sent by email. The policy caps
// them at twelve months, so the schedule cannot be set longer.
var referenceCategory = Category{
	Slug: "reference", Key: "reference_questions",
	Table: "reference_questions", TimeColumn: "asked_at", DueFrom: "asked_at", Label: "subject",
	columns: []string{"subject", "question", "asked", "answered", "deleted"},
	Records: recordsOf((*Store).ReferenceQuestions),
	Schedule: &ScheduleRule{Pos: 1,
		RetentionRule: RetentionRule{Key: "reference_months", Label: "Email reference questions, after they were asked", Unit: "months", Min: 1, Max: 12,
			Reason: "The policy keeps them at most twelve months, for statistics and follow-up questions."},
		value: func(r *Retention) *int { return &r.ReferenceMonths },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, r.ReferenceMonths, 0) },
		describe: func(t *i18n.Tr, r Retention) string {
			return t.N("models.reference_questions.retention", int64(r.ReferenceMonths))
		},
		empty: func(t *i18n.Tr, r Retention) string {
			return t.N("models.reference_questions.empty", int64(r.ReferenceMonths))
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("reference_questions", "reference_questions", "asked_at", n.AddDate(0, -r.ReferenceMonths, 0))}
	},
	Kept:   &SummarySpec{Label: "{r}.subject"},
	write:  writeTable[ReferenceQuestion],
	Import: &ImportMapping{Kind: "reference", Model: ReferenceQuestion{}},
}
