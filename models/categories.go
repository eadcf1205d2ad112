package models

import (
	"fmt"
	"time"
)

// Category is one kind of data the library holds about a patron, with the
// plain words the patron reads about it. The list below is the single
// source for the overview, the detail pages, the export and the print
// view; a test fails if a table with a patron reference is missing here.
type Category struct {
	Slug       string // in URLs: /data/{slug}
	Key        string // in the export
	Title      string
	Purpose    string // why it is held, tied to the policy
	Retention  string // how long, in words
	SharedWith string // who else may ever see it
	// Table is where the records live; "" for the categories kept on the
	// patron's own row (contact details, card).
	Table string
	// TimeColumn orders the records, newest first.
	TimeColumn string
	// DueFrom is the column from which retention counts, for time-limited
	// categories; rows where it is NULL are not yet counting down.
	DueFrom string
	// Label is an SQL expression naming a record in the overview's
	// "newest" line.
	Label string
	// Where narrows the table to the rows the patron may see.
	Where string
	// CountColumn, when set, is the column of the patron's row that keeps
	// the count of the category's records (kept by triggers), read instead
	// of counting rows that may number tens of thousands.
	CountColumn string
	// Empty explains what would appear, and why, when there is nothing.
	Empty string
	// One and Many name a record: "item", "items".
	One, Many string
	// Parts are further tables whose rows belong to this category: the
	// detail page, the print view and the export show them beside its
	// records (the digest emails that carried the notifications).
	Parts []CategoryPart
}

// CategoryPart is a table shown and exported with a category: in the
// export under Key inside the category's object, on the pages as a
// second table titled Title.
type CategoryPart struct {
	Table, Key, Title, Empty string
}

// CourtOrder is who outside the library may see every kind of data: the
// policy releases records to law enforcement only under a court order,
// after the library's legal review. Every category's SharedWith names it,
// after the parties a category is shared with in the ordinary course.
const CourtOrder = "Law enforcement, only with a court order the library has reviewed."

// alsoCourt adds law enforcement under a court order to the parties
// a category is shared with.
func alsoCourt(parties string) string { return parties + " " + CourtOrder }

// Categories lists every kind of data held about a patron, in the order
// the overview shows them, with the default retention schedule's texts.
func Categories() []Category { return CategoriesFor(DefaultRetention()) }

// CategoriesFor lists the categories with retention texts from r.
func CategoriesFor(r Retention) []Category {
	cats := categories()
	for i := range cats {
		if text, ok := r.Describe(cats[i].Slug); ok {
			cats[i].Retention = text
		}
	}
	return cats
}

func categories() []Category {
	return []Category{
		{Slug: "contact", One: "detail", Many: "details", Key: "contact", Title: "Contact details",
			Purpose:   "To reach you about your loans, holds and the notices you asked for, as the policy allows.",
			Retention: "As long as your card is active.",
			SharedWith: alsoCourt("A collection agency, only to recover long-overdue materials. " +
				"The library's mail service, only your name and email address, to deliver the library's emails to you.")},
		{Slug: "card", One: "detail", Many: "details", Key: "card", Title: "Library card and borrowing privileges",
			Purpose:    "To lend to you: your card number, home branch, expiry date and whether you can borrow.",
			Retention:  "As long as your card is active.",
			SharedWith: CourtOrder},
		{Slug: "loans", One: "item", Many: "items", Key: "loans", Title: "Current loans", Table: "loans", TimeColumn: "checked_out_at", Label: "title",
			Purpose:    "To know what you have borrowed and when it is due.",
			Retention:  "Until you return the item; then it is deleted, unless you keep a reading history.",
			SharedWith: alsoCourt("A collection agency, only to recover long-overdue materials."),
			Empty:      "You have nothing checked out. Items you borrow appear here until you return them."},
		{Slug: "reading-history", One: "item", Many: "items", Key: "reading_history", Title: "Reading history", Table: "reading_history", TimeColumn: "returned_at", Label: "title", CountColumn: "history_count",
			Purpose:    "Kept only because you asked for it, so you can look back at what you borrowed.",
			Retention:  "Until you delete it or turn reading history off.",
			SharedWith: CourtOrder,
			Empty:      "Nothing is kept. Reading history is off unless you turn it on; then items you return are listed here."},
		{Slug: "holds", One: "hold", Many: "holds", Key: "holds", Title: "Holds", Table: "holds", TimeColumn: "placed_at", DueFrom: "closed_at", Label: "title",
			Purpose:    "To set items aside for you and tell you when they are ready.",
			Retention:  "30 days after a hold is filled or cancelled.",
			SharedWith: CourtOrder,
			Empty:      "You have no holds. Items you reserve appear here until 30 days after you collect or cancel them."},
		{Slug: "fines", One: "fine or fee", Many: "fines and fees", Key: "fines", Title: "Fines and fees", Table: "fines", TimeColumn: "assessed_at", DueFrom: "settled_at", Label: "description",
			Purpose:    "To record what is owed to the library, and what was paid or waived.",
			Retention:  "90 days after a fine is paid or waived.",
			SharedWith: alsoCourt("A collection agency, only to recover materials."),
			Empty:      "You owe nothing, and no paid or waived fines are on record."},
		{Slug: "ill", One: "request", Many: "requests", Key: "interlibrary_loans", Title: "Interlibrary loans", Table: "ill_requests", TimeColumn: "requested_at", DueFrom: "completed_at", Label: "title",
			Purpose:    "To borrow items from other libraries for you.",
			Retention:  "90 days after the loan is completed or cancelled.",
			SharedWith: alsoCourt("The lending library, only what the loan needs."),
			Empty:      "You have no interlibrary loan requests."},
		{Slug: "reference", One: "question", Many: "questions", Key: "reference_questions", Title: "Email reference questions", Table: "reference_questions", TimeColumn: "asked_at", DueFrom: "asked_at", Label: "subject",
			Purpose:    "To answer your questions and any follow-up; the policy keeps them confidential.",
			Retention:  "At most 12 months after you asked, as the policy promises.",
			SharedWith: CourtOrder,
			Empty:      "You have not sent us a question by email in the last 12 months."},
		{Slug: "computer-sessions", One: "session", Many: "sessions", Key: "computer_sessions", Title: "Computer sessions", Table: "computer_sessions", TimeColumn: "started_at", DueFrom: "started_at", Label: "station",
			Purpose:    "To share the public internet computers fairly.",
			Retention:  "24 hours after the session started.",
			SharedWith: CourtOrder,
			Empty:      "You have not used a library computer in the last 24 hours."},
		{Slug: "mailing-lists", One: "list", Many: "lists", Key: "mailing_lists", Title: "Mailing lists", Table: "subscriptions", TimeColumn: "subscribed_at",
			Label:      "(SELECT name FROM mailing_lists WHERE mailing_lists.id = subscriptions.list_id)",
			Purpose:    "To send you only the mailings you chose.",
			Retention:  "Until you unsubscribe.",
			SharedWith: alsoCourt("The library's mail service, only your name and email address."),
			Empty:      "You are on no mailing lists. Nothing is sent to you unless you subscribe."},
		{Slug: "favorites", One: "favorite", Many: "favorites", Key: "favorites", Title: "Favorite authors and subjects", Table: "favorites", TimeColumn: "created_at", Label: "display",
			Purpose:    "Linked only if you chose, and used only to tell you about new arrivals.",
			Retention:  "Until you remove them or unlink them from your record.",
			SharedWith: alsoCourt("The library's mail service, only in the new-arrival emails you chose (\"Because you follow\")."),
			Empty:      "No favorites are linked to your record."},
		{Slug: "notifications", One: "notification", Many: "notifications", Key: "notifications", Title: "Notifications we sent you", Table: "notifications", TimeColumn: "created_at", DueFrom: "sent_at", Label: "title",
			Parts: []CategoryPart{{Table: "digests", Key: "emails", Title: "Emails that carried them",
				Empty: "No email has been sent to you about new arrivals."}},
			Purpose:    "To show you what we told you about new arrivals, and what is waiting to be sent.",
			Retention:  "30 days after a notification is emailed, or after it was made when it is not emailed.",
			SharedWith: alsoCourt("The library's mail service, only to deliver the emails you chose."),
			Empty:      "We have not sent you any notifications."},
		{Slug: "consents", One: "change", Many: "changes", Key: "consent_history", Title: "Consent history", Table: "consent_entries", TimeColumn: "created_at", Label: "subject",
			Purpose:    "To prove what you chose and when, and who made each change.",
			Retention:  "As long as the choice it records, plus two years.",
			SharedWith: CourtOrder,
			Empty:      "You have not made any privacy choices yet."},
		{Slug: "staff-access", One: "entry", Many: "entries", Key: "staff_access", Title: "Staff access and assistance", Table: "audit_entries", TimeColumn: "created_at", Label: "action",
			Where:      "restricted = FALSE",
			Purpose:    "To show you every time staff looked up or helped with your record.",
			Retention:  "2 years.",
			SharedWith: CourtOrder,
			Empty:      "No staff member has looked up or helped with your record."},
		{Slug: "sessions", One: "sign-in", Many: "sign-ins", Key: "sessions", Title: "Active sign-ins", Table: "sessions", TimeColumn: "last_seen_at", Label: "channel",
			Purpose:    "To keep you signed in on the devices you use.",
			Retention:  "Until you sign out, after 15 minutes without activity, or 8 hours after sign-in.",
			SharedWith: CourtOrder,
			Empty:      "You are not signed in anywhere else."},
	}
}

// CategoryBySlug finds a category by its URL name.
func CategoryBySlug(slug string) (Category, bool) {
	for _, c := range Categories() {
		if c.Slug == slug {
			return c, true
		}
	}
	return Category{}, false
}

// parseDBTime reads a time that an aggregate (MIN, MAX) returned: a
// time.Time from PostgreSQL, text from SQLite.
func parseDBTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), true
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC(), true
			}
		}
	case []byte:
		return parseDBTime(string(t))
	}
	return time.Time{}, false
}

func mustCategory(slug string) Category {
	c, ok := CategoryBySlug(slug)
	if !ok {
		panic(fmt.Sprintf("models: no category %q", slug))
	}
	return c
}
