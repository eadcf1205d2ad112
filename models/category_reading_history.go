package models

// readingHistoryCategory: returned loans, kept only while the patron
// chose to keep a reading history.
var readingHistoryCategory = Category{
	Slug: "reading-history", Key: "reading_history",
	Table: "reading_history", TimeColumn: "returned_at", Label: "title", CountColumn: "history_count",
	columns:           []string{"title", "author", "format", "borrowed", "returned"},
	Records:           recordsOf((*Store).History),
	Deletable:         true,
	CountOnlyForStaff: true,
	Controls:          HistoryControls,
	Purge:             historyKeepRule,
	Kept:              &SummarySpec{Label: "{r}.title"},
	write:             writeTable[HistoryEntry],
	Import:            &ImportMapping{Model: HistoryEntry{}},
}
