package models

// cardCategory: the library card and borrowing privileges, kept on the
// patron's own row.
var cardCategory = Category{
	Slug: "card", One: "detail", Many: "details", Key: "card", Title: "Library card and borrowing privileges",
	Purpose:    "To lend to you: your card number, home branch, expiry date and whether you can borrow.",
	Retention:  "As long as your card is active.",
	SharedWith: CourtOrder,
	Fields:     CardFields,
	// The export carries them in its patron object; a legal production
	// as the category's one record.
	write: func(x recordScope) error {
		p := x.patron
		return writeRows(x.w, []legalCard{{p.CardNumber, p.HomeBranch, p.CardExpiresOn.Format("2006-01-02"), p.BorrowingStatus, p.CreatedAt}})
	},
}
