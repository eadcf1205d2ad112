package views

// FavoriteItem is one favorite as the patron typed it.
type FavoriteItem struct {
	ID      int64
	Kind    string // "Author" or "Subject"
	Display string
}

// FavoritesView is the favorites page.
type FavoritesView struct {
	Linked         bool
	ConsentText    string
	ConsentVersion string
	Items          []FavoriteItem
	Max            int
	Notice         string // none, daily, weekly
	Pending        int64  // notifications waiting to be sent
	// The add form as submitted, when it is shown again with an error.
	Kind, Name string
	Errors     FieldErrors
	// Next is where to go after linking (a follow link from the catalog).
	Next string
}

// FollowView confirms following an author or subject from the catalog.
type FollowView struct {
	Kind        string // "author" or "subject"
	KindLabel   string
	Name        string
	Linked      bool
	Already     bool
	Error       string
	ConsentText string
	Version     string
	Next        string
}
