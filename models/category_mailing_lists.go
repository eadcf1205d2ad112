package models

// mailingListsCategory: the mailing lists the patron subscribed to. A
// record is named by its list, whose name lives in mailing_lists (a
// renamed list renames the kept summaries: see summaryDDL).
var mailingListsCategory = Category{
	Slug: "mailing-lists", One: "list", Many: "lists", Key: "mailing_lists", Title: "Mailing lists",
	Table: "subscriptions", TimeColumn: "subscribed_at",
	Label:       "(SELECT name FROM mailing_lists WHERE mailing_lists.id = subscriptions.list_id)",
	Purpose:     "To send you only the mailings you chose.",
	Retention:   "Until you unsubscribe.",
	SharedWith:  alsoCourt("The library's mail service, only your name and email address."),
	Empty:       "You are on no mailing lists. Nothing is sent to you unless you subscribe.",
	Columns:     []string{"List", "How often", "Sent by", "Subscribed"},
	Records:     recordsOf((*Store).Subscriptions),
	ManageURL:   "/mailing-lists",
	ManageLabel: "Choose your mailing lists",
	Kept:        &SummarySpec{Label: "(SELECT name FROM mailing_lists WHERE mailing_lists.id = {r}.list_id)"},
	write: func(x recordScope) error {
		q := x.during(subscriptionQuery(x.tx, x.patron.ID), "subscriptions.subscribed_at")
		return streamRows[SubscriptionRecord](x.tx, x.w, q.Order("subscriptions.subscribed_at DESC"))
	},
}
