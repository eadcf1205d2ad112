package models

// readingHistoryCategory: returned loans, kept only while the patron
// chose to keep a reading history.
var readingHistoryCategory = Category{
	Slug: "reading-history", One: "item", Many: "items", Key: "reading_history", Title: "Reading history",
	Table: "reading_history", TimeColumn: "returned_at", Label: "title", CountColumn: "history_count",
	Purpose:           "Kept only because you asked for it, so you can look back at what you borrowed.",
	Retention:         "Until you delete it or turn reading history off, or, if you chose to keep only the last few months, until it is older than that.",
	SharedWith:        CourtOrder,
	Empty:             "Nothing is kept. Reading history is off unless you turn it on; then items you return are listed here.",
	Columns:           []string{"Title", "Author", "Format", "Borrowed", "Returned"},
	Records:           recordsOf((*Store).History),
	Deletable:         true,
	CountOnlyForStaff: true,
	Controls:          HistoryControls,
	Purge:             historyKeepRule,
	Kept:              &SummarySpec{Label: "{r}.title"},
	write:             writeTable[HistoryEntry],
	Import:            &ImportMapping{Model: HistoryEntry{}},
}
