package models

// favoritesCategory: authors and subjects the patron follows, linked to
// their record only if they chose.
var favoritesCategory = Category{
	Slug: "favorites", One: "favorite", Many: "favorites", Key: "favorites", Title: "Favorite authors and subjects",
	Table: "favorites", TimeColumn: "created_at", Label: "display",
	Purpose:     "Linked only if you chose, and used only to tell you about new arrivals.",
	Retention:   "Until you remove them or unlink them from your record.",
	SharedWith:  alsoCourt("The library's mail service, only in the emails about your favorite authors and subjects that you chose (\"Because you follow\")."),
	Empty:       "No favorites are linked to your record.",
	Columns:     []string{"Favorite", "Kind", "Added"},
	Records:     recordsOf((*Store).Favorites),
	ManageURL:   "/favorites",
	ManageLabel: "Manage your favorites",
	Kept:        &SummarySpec{Label: "{r}.display"},
	write:       writeTable[Favorite],
}
