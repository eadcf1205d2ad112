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
	Status                            string
	// NondisclosureUntil is "" without a nondisclosure order, else the
	// day it ends (or "Until lifted", or "Lifted").
	NondisclosureUntil string
}

// LegalForm is the form to record a legal request.
type LegalForm struct {
	Kinds                                             []Option
	Categories                                        []Option
	Chosen                                            map[string]bool
	Kind, Issuer, Reference, ReceivedOn, Notes, Cards string
	OfficerName, OfficerAgency, IdentityCheck         string
	ScopeFrom, ScopeTo, NondisclosureUntil            string
	Nondisclosure, PlaceHolds                         bool
	Errors                                            FieldErrors
}

// CoveredRow is a patron a legal request covers.
type CoveredRow struct {
	PatronID             int64
	Name, Card, Produced string
	Held                 bool
}

// LegalStep is one step of a request's workflow: its name, its state in
// words (done, waiting, not possible), with who and when (or why not) in
// Text.
type LegalStep struct {
	Label, State, Text string
}

// LegalReviewForm is the form recording the legal review.
type LegalReviewForm struct {
	Reviewer, ReviewedOn, Outcome, Notes string
	Errors                               FieldErrors
}

// ProductionRow is one production of a request.
type ProductionRow struct {
	ID                                             int64
	ProducedAt, ProducedBy, ApprovedBy, Categories string
	Dates, SHA256                                  string
}

// LegalDetail is one legal request.
type LegalDetail struct {
	ID                                        int64
	Kind, Issuer, Reference, Received, Notes  string
	OfficerName, OfficerAgency, IdentityCheck string
	Categories, Dates                         string
	RecordedBy                                string
	CourtIssued                               bool
	// LegacyReviewed: recorded before the review was its own step, with
	// the old "City Attorney reviewed" box ticked.
	LegacyReviewed bool
	// Nondisclosure describes the order ("" when none);
	// NondisclosureInForce says whether it forbids telling the patrons now.
	Nondisclosure        string
	NondisclosureInForce bool
	Steps                []LegalStep

	// The review, once recorded.
	Reviewed                                             bool
	Reviewer, ReviewedOn, Outcome, ReviewNotes, ReviewBy string
	ReviewForm                                           LegalReviewForm
	// Approval and production: possible now, or why not.
	Approved bool
	// ApprovalUsed says, once a production has used up the last
	// approval, that producing again needs a new one.
	ApprovalUsed                 string
	ApprovedBy, ApprovedAt       string
	CanApprove, CanProduce       bool
	ApproveWhyNot, ProduceWhyNot string
	CanLift                      bool
	// CanHold says whether the request may place legal holds; HoldWhyNot
	// says why not (releasing one is always possible).
	CanHold    bool
	HoldWhyNot string
	// StepErrors are refusals of a step just attempted, by step: review,
	// approve, produce, lift.
	StepErrors  FieldErrors
	Patrons     []CoveredRow
	Productions []ProductionRow
}

// Bar is one bar of a chart, already laid out.
type Bar struct {
	X, Y, W, H, Label string
}

// Tick is one labelled mark on a chart's axis: where it is (an x or a y
// in the chart's coordinates) and what it says (a date, or a count).
type Tick struct {
	At, Label string
}

// ChartDay is one day's count, as the table beside a chart lists it.
type ChartDay struct {
	Day, Count string
}

// Chart is a server-drawn bar chart of one counter over days, with dated
// axis labels, and the same numbers as a table. ID is unique on the page
// (for the SVG's title and description); Name is the counter's code,
// Label its name in words, Summary its total and busiest day in words. Left, Right, Top and Bottom are the plot's
// edges inside the Width by Height drawing.
type Chart struct {
	ID, Name, Label, Summary string
	Range                    string
	Width, Height            int
	Left, Right, Top, Bottom int
	Bars                     []Bar
	XTicks, YTicks           []Tick
	Days                     []ChartDay
	Max, Total               int64
}

// StatsView is the statistics page.
type StatsView struct {
	From, To string
	// Errors are the range's field errors, by field (from, to).
	Errors FieldErrors
	// CSVURL downloads the counters of the range shown.
	CSVURL string
	Charts []Chart
}
