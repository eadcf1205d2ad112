package models

// contactCategory: the patron's contact details, kept on their own row.
var contactCategory = Category{
	Slug: "contact", One: "detail", Many: "details", Key: "contact", Title: "Contact details",
	Purpose:   "To reach you about your loans, holds and the notices you asked for, as the policy allows.",
	Retention: "As long as your card is active.",
	SharedWith: alsoCourt("A collection agency, only to recover long-overdue materials. " +
		"The library's mail service, only your name and email address, to deliver the library's emails to you."),
	Fields: ContactFields,
	// The export carries them in its patron object; a legal production
	// as the category's one record.
	write: func(x recordScope) error {
		p := x.patron
		return writeRows(x.w, []legalContact{{p.GivenName, p.FamilyName, p.Email, p.Phone, p.PostalAddress}})
	},
}
