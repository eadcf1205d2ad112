package models

// cardCategory: the library card and borrowing privileges, kept on the
// patron's own row.
var cardCategory = Category{
	Slug: "card", Key: "card",
	Fields: CardFields, fields: cardFields,
	// The export carries them in its patron object; a legal production
	// as the category's one record.
	write: func(x recordScope) error {
		p := x.patron
		return writeRows(x.w, []legalCard{{p.CardNumber, p.HomeBranch, p.CardExpiresOn.Format("2006-01-02"), p.BorrowingStatus, p.CreatedAt}})
	},
}
