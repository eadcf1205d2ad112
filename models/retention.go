package models

import "time"

// Retention is how long each time-limited kind of record is kept once it
// has served its purpose. The policy caps email reference questions at
// twelve months; the rest are the library's defaults (docs/retention.md
// gives a reason for each).
type Retention struct {
	ReferenceMonths   int // after the question was asked; at most 12
	HoldDays          int // after a hold is filled or cancelled
	FineDays          int // after a fine is paid or waived
	ILLDays           int // after an interlibrary loan is completed
	ComputerHours     int // after a computer session started
	NotificationDays  int // after a notification was sent
	AuditYears        int // after a staff access was recorded
	ConsentExtraYears int // after the consent a ledger entry proves was replaced
}

// DefaultRetention is the schedule Carrel ships with.
func DefaultRetention() Retention {
	return Retention{
		ReferenceMonths:   12,
		HoldDays:          30,
		FineDays:          90,
		ILLDays:           90,
		ComputerHours:     24,
		NotificationDays:  30,
		AuditYears:        2,
		ConsentExtraYears: 2,
	}
}

// due returns when a record whose retention counts from t is deleted,
// for the category with the given slug, and false for categories that
// are not time-limited.
func (r Retention) due(slug string, t time.Time) (time.Time, bool) {
	switch slug {
	case "reference":
		return t.AddDate(0, r.ReferenceMonths, 0), true
	case "holds":
		return t.AddDate(0, 0, r.HoldDays), true
	case "fines":
		return t.AddDate(0, 0, r.FineDays), true
	case "ill":
		return t.AddDate(0, 0, r.ILLDays), true
	case "computer-sessions":
		return t.Add(time.Duration(r.ComputerHours) * time.Hour), true
	case "notifications":
		return t.AddDate(0, 0, r.NotificationDays), true
	case "staff-access":
		return t.AddDate(r.AuditYears, 0, 0), true
	}
	return time.Time{}, false
}

// Due is when a record of category slug, whose retention counts from t,
// will be deleted; ok is false when the category is not time-limited.
func (r Retention) Due(slug string, t time.Time) (due time.Time, ok bool) { return r.due(slug, t) }
