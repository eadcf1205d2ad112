package models

import (
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// computerSessionsCategory: bookings of the public internet computers.
var computerSessionsCategory = Category{
	Slug: "computer-sessions", Key: "computer_sessions",
	Table: "computer_sessions", TimeColumn: "started_at", DueFrom: "started_at", Label: "station",
	columns: []string{"started", "ended", "branch", "computer", "deleted"},
	Records: recordsOf((*Store).ComputerSessions),
	Schedule: &ScheduleRule{Pos: 5,
		RetentionRule: RetentionRule{Key: "computer_hours", Label: "Computer sessions, after they started", Unit: "hours", Min: 1, Max: 72,
			Reason: "Public-computer bookings matter only on the day; library guidance asks for 24 hours."},
		value: func(r *Retention) *int { return &r.ComputerHours },
		due:   func(r Retention, t time.Time) time.Time { return t.Add(time.Duration(r.ComputerHours) * time.Hour) },
		describe: func(t *i18n.Tr, r Retention) string {
			return t.N("models.computer_sessions.retention", int64(r.ComputerHours))
		},
		empty: func(t *i18n.Tr, r Retention) string {
			return t.N("models.computer_sessions.empty", int64(r.ComputerHours))
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("computer_sessions", "computer_sessions", "started_at", n.Add(-time.Duration(r.ComputerHours)*time.Hour))}
	},
	Kept:   &SummarySpec{Label: "{r}.station"},
	write:  writeTable[ComputerSession],
	Import: &ImportMapping{Kind: "computer-sessions", Model: ComputerSession{}},
}
