package models

import (
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// staffAccessCategory: every time staff looked up or helped with the
// patron's record, from the audit log (restricted entries, about legal
// process, are left out). The purge deletes audit entries on its own
// (purgeAudit), keeping the chain provable.
var staffAccessCategory = Category{
	Slug: "staff-access", Key: "staff_access",
	Table: "audit_entries", TimeColumn: "created_at", Label: "action",
	Where:       "restricted = FALSE",
	columns:     []string{"what", "staff", "reason", "when"},
	Records:     recordsOf((*Store).StaffAccess),
	NewestLabel: LabelAuditAction,
	Schedule: &ScheduleRule{Pos: 7,
		RetentionRule: RetentionRule{Key: "audit_years", Label: "Staff access and audit entries", Unit: "years", Min: AuditYearsMin, Max: 7,
			Reason: "Long enough for a patron or an auditor to question a staff access."},
		value: func(r *Retention) *int { return &r.AuditYears },
		due:   func(r Retention, t time.Time) time.Time { return t.AddDate(r.AuditYears, 0, 0) },
		describe: func(t *i18n.Tr, r Retention) string {
			return t.N("models.staff_access.retention", int64(r.AuditYears))
		},
	},
	// Audit entries outlive their patron (they carry no foreign key): an
	// entry written about a deleted patron has no summary to keep.
	Kept: &SummarySpec{Label: "{r}.action", Where: "{r}.restricted = FALSE AND {r}.patron_id IN (SELECT id FROM patrons)"},
	write: func(x recordScope) error {
		q := staffAccessQuery(x.tx, x.patron.ID)
		if x.legal {
			// Entries of legal process are left out: one agency's package
			// never names another court's request, hold or production.
			q = q.Where("audit_entries.action NOT LIKE ?", "legal.%")
		}
		q = x.during(x.hide(q, "audit_entries.id"), "audit_entries.created_at")
		return streamRows[StaffAccessRecord](x.tx, x.w, q.Order("audit_entries.created_at DESC"))
	},
}
