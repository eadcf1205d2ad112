package models

// contactCategory: the patron's contact details, kept on their own row.
var contactCategory = Category{
	Slug: "contact", Key: "contact",
	shared: []string{"shared.collection", "shared.mail"},
	Fields: ContactFields, fields: contactFields,
	// The export carries them in its patron object; a legal production
	// as the category's one record.
	write: func(x recordScope) error {
		p := x.patron
		return writeRows(x.w, []legalContact{{p.GivenName, p.FamilyName, p.Email, p.Phone, p.PostalAddress}})
	},
}
