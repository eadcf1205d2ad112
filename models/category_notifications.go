package models

import (
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// notificationsCategory: new-arrival notifications, with the digest
// emails that carried them. Arrival matching writes them hundreds of
// thousands at a time, so the overview reads them live (Kept is nil: see
// keptSummaries).
var notificationsCategory = Category{
	Slug: "notifications", Key: "notifications",
	Table: "notifications", TimeColumn: "created_at", DueFrom: "sent_at", Label: "title",
	Parts:     []CategoryPart{{Table: "digests", Key: "emails", write: writeDigests}},
	shared:    []string{"shared.mail"},
	columns:   []string{"arrival", "because", "found", "email"},
	Records:   recordsOf((*Store).NotificationDeliveries),
	ManageURL: "/favorites",
	Schedule: &ScheduleRule{Pos: 6,
		RetentionRule: RetentionRule{Key: "notification_days", Label: "Notifications, after they were emailed (or made, if never emailed)", Unit: "days", Min: 1, Max: 90,
			Reason: "Long enough to show a patron what we told them."},
		value: func(r *Retention) *int { return &r.NotificationDays },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(0, 0, r.NotificationDays) },
		describe: func(t *i18n.Tr, r Retention) string {
			return t.N("models.notifications.retention", int64(r.NotificationDays))
		},
	},
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		cut := n.AddDate(0, 0, -r.NotificationDays)
		return []purgeRule{
			// A notification whose email was given up goes as if sent then
			// (a failed digest's next_attempt_at is when it was given up); one
			// never emailed (the patron chose no emails, has no address, or no
			// mail server is set up) goes the same time after it was created:
			// by then it has served its purpose on the patron's own page.
			{"notifications", "notifications", "id", "(sent_at < ? OR digest_id IN (SELECT id FROM digests " +
				"WHERE status = 'failed' AND next_attempt_at < ?) OR (sent_at IS NULL AND digest_id IS NULL AND created_at < ?))",
				[]any{cut, cut, cut}, true},
			// Digest emails go with the notifications they carried.
			{"digests", "digests", "id", "NOT EXISTS (SELECT 1 FROM notifications WHERE notifications.digest_id = digests.id)", nil, true},
		}
	},
	write: writeTable[Notification],
}

// writeDigests writes the digest emails that carried the patron's
// notifications: in the export those the patron's pages show, in a legal
// production those sent in the period.
func writeDigests(x recordScope) error {
	rows, err := digestRecords(x.tx, x.patron.ID)
	if err == nil && x.view != nil {
		rows, err = visibleDigests(x.tx, *x.view, rows)
	}
	if err != nil {
		return err
	}
	return writeKept(x, rows, func(r DigestRecord) time.Time { return r.CreatedAt })
}
