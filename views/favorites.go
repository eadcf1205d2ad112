package views

import (
	"time"

	"github.com/carrel-library/carrel/views/i18n"
)

// FavoriteItem is one favorite as the patron typed it.
type FavoriteItem struct {
	ID      int64
	Kind    string // "Author" or "Subject", in the page's language
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
	Name        string
	Linked      bool
	Already     bool
	Error       string
	ConsentText string
	Version     string
	Next        string
}

// NoticeSchedule says when and where the emails about a patron's favorite
// authors and subjects go.
type NoticeSchedule struct {
	Notice  string       // none, daily or weekly
	Day     time.Weekday // the day weekly emails go
	Email   string       // the patron's address; "" when none is on file
	Sending bool         // the library has a mail server set up
}

// On reports whether the patron chose to get the emails.
func (n NoticeSchedule) On() bool { return n.Notice == "daily" || n.Notice == "weekly" }

// When says how often, and on what day: "Daily", "Weekly, on Mondays".
func (n NoticeSchedule) When(t *i18n.Tr) string {
	if n.Notice == "weekly" {
		return t.S("favorites.schedule.weekly", "Days", OnWeekdays(t, n.Day))
	}
	return t.S("favorites.schedule.daily")
}

// Summary is one sentence on what the patron gets, and where.
func (n NoticeSchedule) Summary(t *i18n.Tr) string {
	switch {
	case !n.On() && n.Email == "":
		return t.S("favorites.schedule.off_no_email")
	case !n.On():
		return t.S("favorites.schedule.off")
	case n.Email == "":
		return t.S("favorites.schedule.no_email." + n.Notice)
	case !n.Sending:
		return t.S("favorites.schedule.not_sending", "When", n.When(t), "Email", n.Email)
	}
	return t.S("favorites.schedule.on", "When", n.When(t), "Email", n.Email)
}
