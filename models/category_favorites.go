package models

// favoritesCategory: authors and subjects the patron follows, linked to
// their record only if they chose.
var favoritesCategory = Category{
	Slug: "favorites", Key: "favorites",
	Table: "favorites", TimeColumn: "created_at", Label: "display",
	shared:    []string{"shared.mail"},
	columns:   []string{"favorite", "kind", "added"},
	Records:   recordsOf((*Store).Favorites),
	ManageURL: "/favorites",
	Kept:      &SummarySpec{Label: "{r}.display"},
	write:     writeTable[Favorite],
}
