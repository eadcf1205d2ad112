package models

import "time"

// consentsCategory: the ledger of the patron's privacy choices.
var consentsCategory = Category{
	Slug: "consents", Key: "consent_history",
	Table: "consent_entries", TimeColumn: "created_at", Label: "subject",
	columns:     []string{"choice", "from", "to", "by", "how", "when"},
	Records:     recordsOf((*Store).Consents),
	NewestLabel: LabelConsentSubject,
	Purge: func(n time.Time, r Retention, _ SessionLimits) []purgeRule {
		// A consent entry proves a choice until a later entry replaces it;
		// then it is kept for the audit period.
		return []purgeRule{{"consent_history", "consent_entries", "id", "EXISTS (SELECT 1 FROM consent_entries later WHERE later.patron_id = consent_entries.patron_id " +
			"AND later.subject = consent_entries.subject AND later.id > consent_entries.id AND later.created_at < ?)",
			[]any{n.AddDate(-r.AuditYears, 0, 0)}, true}}
	},
	Kept:  &SummarySpec{Label: "{r}.subject"},
	write: writeTable[ConsentEntry],
}
