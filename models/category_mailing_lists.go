package models

// mailingListsCategory: the mailing lists the patron subscribed to. A
// record is named by its list, whose name lives in mailing_lists (a
// renamed list renames the kept summaries: see summaryDDL).
var mailingListsCategory = Category{
	Slug: "mailing-lists", Key: "mailing_lists",
	Table: "subscriptions", TimeColumn: "subscribed_at",
	Label:     "(SELECT name FROM mailing_lists WHERE mailing_lists.id = subscriptions.list_id)",
	shared:    []string{"shared.mail"},
	columns:   []string{"list", "how_often", "sent_by", "subscribed"},
	Records:   recordsOf((*Store).Subscriptions),
	ManageURL: "/mailing-lists",
	Kept:      &SummarySpec{Label: "(SELECT name FROM mailing_lists WHERE mailing_lists.id = {r}.list_id)"},
	write: func(x recordScope) error {
		q := x.during(subscriptionQuery(x.tx, x.patron.ID), "subscriptions.subscribed_at")
		return streamRows[SubscriptionRecord](x.tx, x.w, q.Order("subscriptions.subscribed_at DESC"))
	},
}
