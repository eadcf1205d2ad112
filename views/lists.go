package views

// ListItem is one mailing list as a patron sees it.
type ListItem struct {
	Slug, Name, Description, Frequency, Sender, ConsentText string
	Version                                                 int
	Subscribed                                              bool
	Retired                                                 bool
}

// ListsView is the patron's mailing-list page.
type ListsView struct {
	Email string // "" when none is on file
	Lists []ListItem
	Any   bool // subscribed to at least one
	// Schedule is the emails about the patron's favorite authors and
	// subjects, which are not a mailing list but stop with the rest.
	Schedule NoticeSchedule
	// StopAll says what "Unsubscribe from everything" would stop; "" when
	// there is nothing to stop, and the button is not shown.
	StopAll string
	// Errors is a refused subscription: "list" for the form as a whole.
	Errors FieldErrors
}

// UnsubscribeView is the one-click unsubscribe page.
type UnsubscribeView struct {
	Token    string
	ListName string
	Done     bool
	Invalid  bool
}

// AdminList is one row of the administrators' list table.
type AdminList struct {
	Slug, Name, Frequency, Status string
	Version                       int
	Subscribers                   int64
	Retired                       bool
}

// ListEditView is the list editing form.
type ListEditView struct {
	Existing                                                string // slug being edited, "" for a new list
	Slug, Name, Description, Frequency, Sender, ConsentText string
	Version                                                 int
	Errors                                                  FieldErrors
}
