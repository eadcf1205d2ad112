package models

import "time"

// consentsCategory: the ledger of the patron's privacy choices.
var consentsCategory = Category{
	Slug: "consents", One: "change", Many: "changes", Key: "consent_history", Title: "Consent history",
	Table: "consent_entries", TimeColumn: "created_at", Label: "subject",
	Purpose:     "To prove what you chose and when, and who made each change.",
	Retention:   "As long as the choice it records, plus two years.",
	SharedWith:  CourtOrder,
	Empty:       "You have not made any privacy choices yet.",
	Columns:     []string{"Choice", "Changed from", "Changed to", "By", "How", "When"},
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
