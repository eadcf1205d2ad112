package models

import "time"

// computerSessionsCategory: bookings of the public internet computers.
var computerSessionsCategory = Category{
	Slug: "computer-sessions", One: "session", Many: "sessions", Key: "computer_sessions", Title: "Computer sessions",
	Table: "computer_sessions", TimeColumn: "started_at", DueFrom: "started_at", Label: "station",
	Purpose:    "To share the public internet computers fairly.",
	Retention:  "24 hours after the session started.",
	SharedWith: CourtOrder,
	Empty:      "You have not used a library computer in the last 24 hours.",
	Columns:    []string{"Started", "Ended", "Branch", "Computer", "Will be deleted"},
	Records:    recordsOf((*Store).ComputerSessions),
	Schedule: &ScheduleRule{Pos: 5,
		RetentionRule: RetentionRule{Key: "computer_hours", Label: "Computer sessions, after they started", Unit: "hours", Min: 1, Max: 72,
			Reason: "Public-computer bookings matter only on the day; library guidance asks for 24 hours."},
		value: func(r *Retention) *int { return &r.ComputerHours },
		due:   func(r Retention, t time.Time) time.Time { return t.Add(time.Duration(r.ComputerHours) * time.Hour) },
		describe: func(r Retention) string {
			return counted(r.ComputerHours, "hour", "hours") + " after the session started."
		},
		empty: func(r Retention) string {
			return "You have not used a library computer in the last " + counted(r.ComputerHours, "hour", "hours") + "."
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		return []purgeRule{byDate("computer_sessions", "computer_sessions", "started_at", n.Add(-time.Duration(r.ComputerHours)*time.Hour))}
	},
	Kept:   &SummarySpec{Label: "{r}.station"},
	write:  writeTable[ComputerSession],
	Import: &ImportMapping{Kind: "computer-sessions", Model: ComputerSession{}},
}
