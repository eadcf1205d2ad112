package views

// AssistBanner is shown on every page while staff assist a patron.
type AssistBanner struct {
	StaffName   string
	PatronName  string
	Reason      string
	MinutesLeft int
	// EndsAt is when the assistance ends, a time of day; EndsIn, how
	// long until then in words ("12 minutes").
	EndsAt, EndsIn string
}

// StaffLoginForm is the staff sign-in form as shown again.
type StaffLoginForm struct {
	Username  string
	Next      string
	Errors    FieldErrors
	Message   string
	SignedOut bool
	// Ended says why the visitor was signed out, when their session ran
	// out (and where signing in takes them).
	Ended string
	// FormToken is the form's stateless token: a visitor who has not
	// signed in has no session to hold one.
	FormToken string
	// OIDCName, when staff may sign in through the library's identity
	// provider, is its name on the button ("Sign in with <OIDCName>");
	// LocalOff hides the username and password form.
	OIDCName string
	LocalOff bool
}

// StaffHome is the staff console's start page.
type StaffHome struct {
	Name, Role         string
	CanAudit, CanAdmin bool
	// Recent are the patrons this staff member opened or helped in this
	// session, the most recent first.
	Recent []RecentPatronRow
	// Connectors are the links to the library's systems, when any is
	// configured.
	Connectors []ConnectorRow
}

// ConnectorRow is one connector's state in this instance, since it
// started: words and counts only, no patron's data.
type ConnectorRow struct {
	Name               string
	LastSuccess        string // a date and time, or "Never"
	LastError          string // a date and time, or "None"
	LastErrorText      string
	Latency            string // of the last answer, or "—"
	Attempts, Failures int64
	Waiting            string // consent changes in the outbox, "unknown", or "—" for sign-in only
	Failing            bool   // the last call failed
}

// RecentPatronRow is a patron the staff member opened or helped lately.
type RecentPatronRow struct {
	ID         int64
	Name       string
	CardEnding string // the card number's last four digits
}

// PatronRow is one patron found by a staff lookup.
type PatronRow struct {
	ID                               int64
	Name, Card, Email, Phone, Branch string
}

// PatronSearch is the patron lookup page.
type PatronSearch struct {
	Query    string
	Error    string
	Searched bool
	Results  []PatronRow
	More     bool
	// PausedFor, when set, says how long until this staff member may
	// look a patron up again ("20 seconds"): search, or open a record.
	PausedFor string
}

// Option is one choice of a radio group or select.
type Option struct {
	Value, Label string
}

// CategoryCount is a count of one kind of record.
type CategoryCount struct {
	Label string
	Count int64
}

// StaffPatronView is one patron as staff see them.
type StaffPatronView struct {
	ID            int64
	Name, Card    string
	Fields        []Field
	Counts        []CategoryCount
	Reasons       []Option
	Reason, Note  string
	Errors        FieldErrors
	AssistMinutes int

	// Checks are the ways to check the patron's identity; Check and
	// CheckNote are the choice and its note as sent.
	Checks           []Option
	Check, CheckNote string
	// PrintChoices are the sections staff may print for the patron;
	// PrintCheck and PrintCheckNote, how staff checked the identity of
	// the person asking for the printout, as sent.
	PrintChoices               []PrintChoice
	PrintCheck, PrintCheckNote string
}

// AuditRow is one audit entry for privacy officers. Action is in words
// (models.AuditActionLabel).
type AuditRow struct {
	When, Staff, Patron, Action, Reason, Detail string
	Restricted                                  bool
}

// AuditView is the audit log page.
type AuditView struct {
	Action, Staff, Card, From, To string
	// Actions are the filter's choices: each action's code and its words.
	Actions []Option
	// Errors are the filter's field errors, by field (from, to).
	Errors             FieldErrors
	Rows               []AuditRow
	OlderURL, NewerURL string
	// Check is the last verification of the audit log; nil when none ran.
	Check *AuditCheckView
	// CheckUntrusted says a result is stored but its signature fails.
	CheckUntrusted bool
}

// AuditCheckView is the result of the last verification of the audit log.
// Headline is the result in a few words ("Verified: all 12,345 entries
// intact", "Broken at entry 17"), Summary the whole sentence when it says
// more (why it broke, a checkpoint, entries from before the keyed chain), and
// Unchecked says how many entries were written after it ("" for none).
type AuditCheckView struct {
	Headline, When, By, Summary, Unchecked string
	Intact                                 bool
}

// StaffRow is one staff account.
type StaffRow struct {
	Username, Name, Role, Status string
}
