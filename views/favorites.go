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
	// PendingWords says Pending in words: "1 notice is", "3 notices are".
	PendingWords string
	// Schedule says when and where the chosen emails go.
	Schedule NoticeSchedule
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

// The name patrons see for the emails that tell them about new arrivals by
// the authors and on the subjects they follow, kept apart from any mailing
// list's name so that the two are never confused.
const (
	FavoritesEmails = "emails about your favorite authors and subjects"
)

// NoticeSchedule says when and where the emails about a patron's favorite
// authors and subjects go.
type NoticeSchedule struct {
	Notice  string // none, daily or weekly
	Weekday string // the day weekly emails go, "Monday"
	Email   string // the patron's address; "" when none is on file
	Sending bool   // the library has a mail server set up
}

// On reports whether the patron chose to get the emails.
func (n NoticeSchedule) On() bool { return n.Notice == "daily" || n.Notice == "weekly" }

// When says how often, and on what day: "Daily", "Weekly, on Mondays".
func (n NoticeSchedule) When() string {
	if n.Notice == "weekly" {
		return "Weekly, on " + n.Weekday + "s"
	}
	return "Daily"
}

// Summary is one sentence on what the patron gets, and where.
func (n NoticeSchedule) Summary() string {
	switch {
	case !n.On() && n.Email == "":
		return "Off. We have no email address for you either, so nothing could be sent; ask at any desk to add one."
	case !n.On():
		return "Off: the library sends you no " + FavoritesEmails + "."
	case n.Email == "":
		return "You chose " + n.Notice + " emails, but we have no email address for you, so nothing will be sent. Ask at any desk to add one."
	case !n.Sending:
		return n.When() + ", to " + n.Email + ". The library is not sending email at the moment, so new arrivals wait on your Notifications page until it does."
	}
	return n.When() + ", to " + n.Email + "."
}
