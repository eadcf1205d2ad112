package models

import "time"

// referenceCategory: questions the patron sent by email. The policy caps
// them at twelve months, so the schedule cannot be set longer.
var referenceCategory = Category{
	Slug: "reference", One: "question", Many: "questions", Key: "reference_questions", Title: "Email reference questions",
	Table: "reference_questions", TimeColumn: "asked_at", DueFrom: "asked_at", Label: "subject",
	Purpose:    "To answer your questions and any follow-up; the policy keeps them confidential.",
	Retention:  "At most 12 months after you asked, as the policy promises.",
	SharedWith: CourtOrder,
	Empty:      "You have not sent us a question by email in the last 12 months.",
	Columns:    []string{"Subject", "Your question", "Asked", "Answered", "Will be deleted"},
	Records:    recordsOf((*Store).ReferenceQuestions),
	Schedule: &ScheduleRule{Pos: 1,
		RetentionRule: RetentionRule{Key: "reference_months", Label: "Email reference questions, after they were asked", Unit: "months", Min: 1, Max: 12,
			Reason: "The policy keeps them at most twelve months, for statistics and follow-up questions."},
		value: func(r *Retention) *int { return &r.ReferenceMonths },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, r.ReferenceMonths, 0) },
		describe: func(r Retention) string {
			return "At most " + counted(r.ReferenceMonths, "month", "months") + " after you asked, as the policy promises."
		},
		empty: func(r Retention) string {
			return "You have not sent us a question by email in the last " + counted(r.ReferenceMonths, "month", "months") + "."
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("reference_questions", "reference_questions", "asked_at", n.AddDate(0, -r.ReferenceMonths, 0))}
	},
	Kept:   &SummarySpec{Label: "{r}.subject"},
	write:  writeTable[ReferenceQuestion],
	Import: &ImportMapping{Kind: "reference", Model: ReferenceQuestion{}},
}
