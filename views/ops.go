package views

// RetentionRow is one line of the retention schedule.
type RetentionRow struct {
	Key, Label, Unit, Value, Reason string
	Min, Max                        int
	Due                             int64
}

// RetentionView is the retention page for privacy officers.
type RetentionView struct {
	Rules  []RetentionRow
	Fixed  []RetentionRow
	Errors FieldErrors
	Held   int64
	Busy   bool
}

// LegalRow is one legal request in the list.
type LegalRow struct {
	ID                                int64
	Kind, Issuer, Reference, Received string
	Nondisclosure, Reviewed           bool
}

// LegalForm is the form to record a legal request.
type LegalForm struct {
	Kinds                                             []Option
	Kind, Issuer, Reference, ReceivedOn, Notes, Cards string
	AttorneyReviewed, Nondisclosure, PlaceHolds       bool
	Errors                                            FieldErrors
}

// CoveredRow is a patron a legal request covers.
type CoveredRow struct {
	PatronID             int64
	Name, Card, Produced string
	Held                 bool
}

// LegalDetail is one legal request.
type LegalDetail struct {
	ID                                       int64
	Kind, Issuer, Reference, Received, Notes string
	Reviewed, Nondisclosure                  bool
	Patrons                                  []CoveredRow
}

// Bar is one bar of a chart, already laid out.
type Bar struct {
	X, Y, W, H, Label string
}

// Chart is a server-drawn bar chart of one counter over days.
type Chart struct {
	Name          string
	Width, Height int
	Bars          []Bar
	Max, Total    int64
}

// StatsView is the statistics page.
type StatsView struct {
	From, To, Error string
	Charts          []Chart
}
