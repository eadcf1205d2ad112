package models

import "time"

// The models below are the live shape of Carrel's tables. The tables
// themselves are created by the versioned migrations in migrations.go; a
// test checks that every field here has its column there.
//
// Every model that carries PatronID holds data about one patron: queries
// over it always name the patron (Where("patron_id = ?", id)), never a
// struct condition, whose zero values gorm would silently drop.

// Borrowing status values of a library card.
const (
	StatusActive  = "active"
	StatusBlocked = "blocked"
	StatusExpired = "expired"
)

// Patron is a library card holder: contact details, card and borrowing
// privileges, and the privacy choices that are theirs alone.
type Patron struct {
	ID                    int64
	ILSID                 *string `gorm:"column:ils_id"`
	CardNumber            string
	PINHash               string `gorm:"column:pin_hash"`
	GivenName             string
	FamilyName            string
	Email                 string
	Phone                 string
	PostalAddress         string
	HomeBranch            string
	CardExpiresOn         time.Time
	BorrowingStatus       string
	ReadingHistoryEnabled bool
	// HistoryCount is how many reading-history rows the patron has, kept
	// by database triggers (migration 202611270006); never written here.
	HistoryCount int64 `gorm:"->"`
	// HistoryKeepMonths is the patron's choice to keep only the last so
	// many months of their reading history (one of HistoryKeepChoices);
	// 0 keeps all of it. The purge deletes what is older.
	HistoryKeepMonths int
	FavoritesLinked   bool
	FavoritesNotice   string // "none", "daily" or "weekly"
	// Language is the language the patron chose with the switch ("en",
	// "es"; "" until they choose): their emails are written in it.
	Language     string
	LastSignInAt *time.Time
	// AssistSeenAt is when the patron last dismissed the notice of what
	// staff did while assisting them.
	AssistSeenAt *time.Time
	// ILSLink names the connector ("sip2", "koha") that made or last
	// confirmed the patron at sign-in; "" for patrons of imports and the
	// demo. ILSPrivacy is the Koha privacy value last written to or read
	// from Koha (nil: never).
	ILSLink    string `gorm:"column:ils_link"`
	ILSPrivacy *int   `gorm:"column:ils_privacy"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DisplayName is how the portal names a patron on screen: "A. Demo".
func (p Patron) DisplayName() string {
	if p.GivenName == "" {
		return p.FamilyName
	}
	r := []rune(p.GivenName)
	return string(r[0]) + ". " + p.FamilyName
}

// FullName is the patron's name as the library holds it.
func (p Patron) FullName() string {
	if p.GivenName == "" {
		return p.FamilyName
	}
	return p.GivenName + " " + p.FamilyName
}

// Loan is an item currently checked out.
type Loan struct {
	ID           int64     `json:"id"`
	PatronID     int64     `json:"-"`
	ILSID        *string   `json:"-" gorm:"column:ils_id"`
	Title        string    `json:"title"`
	Author       string    `json:"author"`
	Format       string    `json:"format"`
	Barcode      string    `json:"barcode"`
	CheckedOutAt time.Time `json:"checked_out_at"`
	DueAt        time.Time `json:"due_at"`
	Renewals     int       `json:"renewals"`
	Branch       string    `json:"branch"`
}

// HistoryEntry is a returned loan, kept only for patrons who turned their
// reading history on.
type HistoryEntry struct {
	ID           int64     `json:"id"`
	PatronID     int64     `json:"-"`
	ILSID        *string   `json:"-" gorm:"column:ils_id"` // the returned loan's ID in the ILS, when imported
	Title        string    `json:"title"`
	Author       string    `json:"author"`
	Format       string    `json:"format"`
	CheckedOutAt time.Time `json:"checked_out_at"`
	ReturnedAt   time.Time `json:"returned_at"`
}

// TableName keeps the table's name in the patron's words.
func (HistoryEntry) TableName() string { return "reading_history" }

// Hold status values.
const (
	HoldWaiting   = "waiting"
	HoldInTransit = "in_transit"
	HoldReady     = "ready"
	HoldFilled    = "filled"
	HoldCancelled = "cancelled"
)

// Hold is an item set aside, or to be set aside, for a patron.
type Hold struct {
	ID           int64      `json:"id"`
	PatronID     int64      `json:"-"`
	ILSID        *string    `json:"-" gorm:"column:ils_id"`
	Title        string     `json:"title"`
	Author       string     `json:"author"`
	PickupBranch string     `json:"pickup_branch"`
	Status       string     `json:"status"`
	PlacedAt     time.Time  `json:"placed_at"`
	ReadyUntil   *time.Time `json:"ready_until"`
	ClosedAt     *time.Time `json:"closed_at"` // when filled or cancelled; retention counts from here
}

// Fine status values.
const (
	FineOutstanding = "outstanding"
	FinePaid        = "paid"
	FineWaived      = "waived"
)

// Fine is a fine or fee: what is owed, or was, and why.
type Fine struct {
	ID          int64      `json:"id"`
	PatronID    int64      `json:"-"`
	ILSID       *string    `json:"-" gorm:"column:ils_id"`
	Description string     `json:"description"`
	Title       string     `json:"title"`
	AmountCents int64      `json:"amount_cents"`
	Status      string     `json:"status"`
	AssessedAt  time.Time  `json:"assessed_at"`
	SettledAt   *time.Time `json:"settled_at"` // when paid or waived; retention counts from here
}

// Interlibrary loan status values.
const (
	ILLRequested = "requested"
	ILLShipped   = "shipped"
	ILLReceived  = "received"
	ILLReturned  = "returned"
	ILLCancelled = "cancelled"
)

// ILLRequest is an interlibrary loan request.
type ILLRequest struct {
	ID             int64      `json:"id"`
	PatronID       int64      `json:"-"`
	ILSID          *string    `json:"-" gorm:"column:ils_id"`
	Title          string     `json:"title"`
	Author         string     `json:"author"`
	LendingLibrary string     `json:"lending_library"`
	Status         string     `json:"status"`
	RequestedAt    time.Time  `json:"requested_at"`
	CompletedAt    *time.Time `json:"completed_at"` // returned or cancelled; retention counts from here
}

// TableName keeps the acronym readable.
func (ILLRequest) TableName() string { return "ill_requests" }

// ReferenceQuestion is a question a patron sent the library by email. The
// policy allows keeping it for at most twelve months.
type ReferenceQuestion struct {
	ID         int64      `json:"id"`
	PatronID   int64      `json:"-"`
	ILSID      *string    `json:"-" gorm:"column:ils_id"`
	Subject    string     `json:"subject"`
	Question   string     `json:"question"`
	Answer     string     `json:"answer"`
	AskedAt    time.Time  `json:"asked_at"`
	AnsweredAt *time.Time `json:"answered_at"`
}

// ComputerSession is a booking of a public internet station.
type ComputerSession struct {
	ID        int64      `json:"id"`
	PatronID  int64      `json:"-"`
	ILSID     *string    `json:"-" gorm:"column:ils_id"`
	Branch    string     `json:"branch"`
	Station   string     `json:"station"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
}

// MailingList is a list a patron may choose to join. Its consent text has
// a version, and the version a patron agreed to is recorded in the ledger.
type MailingList struct {
	ID             int64
	Slug           string
	Name           string
	Description    string
	Frequency      string
	Sender         string
	ConsentText    string
	ConsentVersion int
	RetiredAt      *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Subscription says that a patron agreed to receive one list. It exists
// only while the consent does: unsubscribing deletes it, and the consent
// ledger keeps the history.
type Subscription struct {
	ID           int64
	PatronID     int64
	ListID       int64
	SubscribedAt time.Time
}

// Favorite kinds.
const (
	FavoriteAuthor  = "author"
	FavoriteSubject = "subject"
)

// Favorite is a favorite author or subject, linked to the record only by
// the patron's choice, and used only to tell them about new arrivals.
type Favorite struct {
	ID         int64     `json:"id"`
	PatronID   int64     `json:"-"`
	Kind       string    `json:"kind"`
	Display    string    `json:"display"`    // as the patron typed it
	Normalized string    `json:"normalized"` // for matching and de-duplication
	CreatedAt  time.Time `json:"created_at"`
}

// Notification is a notice of a new arrival matching a favorite.
type Notification struct {
	ID         int64      `json:"id"`
	PatronID   int64      `json:"-"`
	Title      string     `json:"title"`
	Author     string     `json:"author"`
	CatalogURL string     `json:"catalog_url"`
	Reason     string     `json:"reason"` // which favorite matched, in the patron's words
	CreatedAt  time.Time  `json:"created_at"`
	SentAt     *time.Time `json:"sent_at"`
	ArrivalID  *int64     `json:"-"` // the arrival it tells of: at most one notification per patron per item
	DigestID   *int64     `json:"-"` // the digest email that carries it, once one is assembled
}

// Digest status values: the life of one digest email in the outbox.
const (
	DigestPending = "pending" // assembled, waiting for its turn or a retry
	DigestSent    = "sent"    // the SMTP server accepted it
	DigestFailed  = "failed"  // given up after the last retry
)

// Digest is one email in the outbox: the notifications due to one patron
// for one day or week. Its IdempotencyKey is unique and is the email's
// Message-ID, so the same digest is never assembled or sent twice; a
// claim (ClaimedBy, ClaimedUntil) keeps several instances from sending it
// at once.
type Digest struct {
	ID             int64      `json:"id"`
	PatronID       int64      `json:"-"`
	IdempotencyKey string     `json:"-"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  time.Time  `json:"next_attempt_at"`
	ClaimedBy      string     `json:"-"`
	ClaimedUntil   *time.Time `json:"-"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	SentAt         *time.Time `json:"sent_at"`
}

// Arrival is a new item in the library's collection, uploaded by staff or
// posted by the ILS. Authors and subjects are kept one per line.
type Arrival struct {
	ID         int64
	Title      string
	Authors    string
	Subjects   string
	Format     string
	ArrivedOn  time.Time
	CatalogURL string
	StaffID    *int64
	APIKeyID   *int64 `gorm:"column:api_key_id"`
	CreatedAt  time.Time
	MatchedAt  *time.Time // when it was matched against favorites
}

// ArrivalTerm is one author or subject of an arrival, normalised as
// favorites are (NormalizeFavorite), for matching.
type ArrivalTerm struct {
	ArrivalID  int64  `gorm:"primaryKey"`
	Kind       string `gorm:"primaryKey"`
	Normalized string `gorm:"primaryKey"`
	Display    string
}

// APIKey lets a system (the ILS) post to the portal's API. The secret is
// shown once when created; only a keyed hash of it is stored.
type APIKey struct {
	ID         int64
	Name       string
	Prefix     string
	SecretHash string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// TableName keeps the acronym readable.
func (APIKey) TableName() string { return "api_keys" }

// Consent subjects, actors and channels of the consent ledger.
const (
	ConsentReadingHistory  = "reading_history"
	ConsentFavoritesLink   = "favorites_link"
	ConsentFavoritesNotice = "favorites_notice"
	// ConsentHistoryKeep is how much reading history the patron keeps:
	// "all", or a number of months ("3", "6", "12", "24").
	ConsentHistoryKeep = "reading_history_keep"
	ConsentListPrefix  = "mailing_list:"

	ActorPatron = "patron"
	ActorStaff  = "staff"

	ChannelWeb           = "web"
	ChannelCatalog       = "catalog"
	ChannelStaffAssisted = "staff_assisted"
	ChannelEmailOneClick = "email_one_click"
)

// ConsentEntry is one line of the append-only consent ledger: who changed
// which choice, from what to what, through which channel, having been shown
// which version of the text.
type ConsentEntry struct {
	ID          int64     `json:"id"`
	PatronID    int64     `json:"-"`
	Subject     string    `json:"subject"`
	OldValue    string    `json:"old_value"`
	NewValue    string    `json:"new_value"`
	Actor       string    `json:"actor"`
	StaffID     *int64    `json:"staff_id,omitempty"`
	Channel     string    `json:"channel"`
	TextVersion string    `json:"text_version"`
	CreatedAt   time.Time `json:"created_at"`
}

// OutboxRow is one consent change on its way to one system that must
// hear of it (see outbox.go).
type OutboxRow struct {
	ID            int64
	PatronID      int64
	ConsentID     int64
	Target        string
	Status        string
	Payload       string
	Attempts      int
	NextAttemptAt time.Time
	ClaimedBy     *string
	LeaseUntil    *time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

// TableName names the outbox as a queue, not a plural.
func (OutboxRow) TableName() string { return "consent_outbox" }

// AuditEntry is one line of the append-only, hash-chained audit log of what
// staff and the system did. It names who and what, never the data itself.
type AuditEntry struct {
	ID         int64
	CreatedAt  time.Time
	StaffID    *int64
	PatronID   *int64
	Action     string
	Reason     string
	Detail     string
	Restricted bool
	PrevHash   string
	Hash       string
	// KeyID names the server key whose subkey made Hash; empty on entries
	// written before the chain was keyed (see VerifyAudit).
	KeyID string
}

// Staff roles, each including the powers of the one before.
const (
	RoleAssistant      = "assistant"
	RolePrivacyOfficer = "privacy_officer"
	RoleAdmin          = "admin"
)

// Staff is a library staff account.
type Staff struct {
	ID           int64
	Username     string
	DisplayName  string
	Role         string
	PasswordHash string
	DisabledAt   *time.Time
	// OIDCIssuer and OIDCSubject key a staff member made by single
	// sign-on (nil for local accounts).
	OIDCIssuer  *string `gorm:"column:oidc_issuer"`
	OIDCSubject *string `gorm:"column:oidc_subject"`
	// TOTPSecret is the second factor's secret sealed under the server
	// key ("" when not enrolled); TOTPLastStep the last time step
	// accepted, so no code is accepted twice.
	TOTPSecret     string     `gorm:"column:totp_secret"`
	TOTPEnrolledAt *time.Time `gorm:"column:totp_enrolled_at"`
	TOTPLastStep   int64      `gorm:"column:totp_last_step"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// StaffRecoveryCode is one single-use recovery code of a staff member's
// second factor, hashed.
type StaffRecoveryCode struct {
	ID        int64
	StaffID   int64
	CodeHash  string
	UsedAt    *time.Time
	CreatedAt time.Time
}

// StaffOIDCState is a staff sign-in through the identity provider under
// way: its state (hashed), nonce and PKCE verifier. Short-lived, deleted
// when used.
type StaffOIDCState struct {
	StateHash    string `gorm:"primaryKey"`
	Nonce        string
	CodeVerifier string
	NextPath     string
	ExpiresAt    time.Time
}

// TableName spells the acronym as the table does.
func (StaffOIDCState) TableName() string { return "staff_oidc_states" }

// TableName keeps "staff" uncountable.
func (Staff) TableName() string { return "staff" }

// Session is the server side of the one cookie. The cookie holds a random
// token; only its SHA-256 is stored, so a copy of the database cannot be
// replayed as anyone's sign-in. No IP address or browser string is kept.
type Session struct {
	TokenHash      string `gorm:"primaryKey"`
	PatronID       *int64
	StaffID        *int64
	AssistPatronID *int64
	Channel        string
	CSRFToken      string `gorm:"column:csrf_token"`
	Data           string // JSON object of further values
	CreatedAt      time.Time
	LastSeenAt     time.Time
}

// SigninThrottle counts failed sign-ins for one key (a keyed hash of a card
// number or staff username, so that unknown cards are not stored in clear).
type SigninThrottle struct {
	KeyHash         string `gorm:"primaryKey"`
	Failures        int
	WindowStartedAt time.Time
	LockedUntil     *time.Time
}

// SigninFailureBucket counts failed sign-ins across all keys, per minute,
// so that a PIN sprayed across many cards slows every instance down.
type SigninFailureBucket struct {
	Minute   time.Time `gorm:"primaryKey"`
	Failures int
}

// UsageCounter is a daily, anonymous count: a day, a name, a number, and
// nothing that could be joined back to a person.
type UsageCounter struct {
	Day   string `gorm:"primaryKey"` // YYYY-MM-DD in the library's time zone
	Name  string `gorm:"primaryKey"`
	Count int64
}

// OPAC is a library catalog allowed to send patrons in, signed in.
type OPAC struct {
	ID        string `gorm:"primaryKey"`
	Origin    string
	CreatedAt time.Time
}

// TableName keeps the acronym readable.
func (OPAC) TableName() string { return "opacs" }

// OPACKey is one of a catalog's signing keys; several may be active at
// once, so keys can be rotated without a gap.
type OPACKey struct {
	KID          string `gorm:"column:kid;primaryKey"`
	OPACID       string `gorm:"column:opac_id"`
	SealedSecret string
	CreatedAt    time.Time
	RetiredAt    *time.Time
}

// TableName keeps the acronym readable.
func (OPACKey) TableName() string { return "opac_keys" }

// HandoffToken records a used hand-off token until it expires.
type HandoffToken struct {
	JTI       string `gorm:"column:jti;primaryKey"`
	OPACID    string `gorm:"column:opac_id"`
	ExpiresAt time.Time
}

// Setting is one library-wide setting changed at run time.
type Setting struct {
	Name      string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

// Legal request kinds. An informal request is not one: the library does
// not answer them.
//
// Only process a court issued can ever produce records (CourtIssued); a
// national security letter, or anything else not issued by a court, is
// recorded so the library has it on file, and never produces records.
var LegalKinds = []struct {
	Value, Label string
	CourtIssued  bool
}{
	{"subpoena", "Subpoena issued by a court", true},
	{"search_warrant", "Search warrant", true},
	{"court_order", "Court order", true},
	{"national_security_letter", "National security letter (not issued by a court)", false},
	{"other", "Other process not issued by a court", false},
}

// LegalRequest is law enforcement's request for records, as the privacy
// officer recorded it.
//
// Issuer is the issuing court. Scope is what the order names: the export
// keys of the categories (comma-separated) and the dates it covers
// (inclusive, either end open when nil). A production is possible only
// once Reviewer/ReviewedOn/ReviewOutcome record a favourable legal review
// and ApprovedBy, a privacy officer or admin other than CreatedBy,
// approved it; a production uses the approval up (the production keeps
// who gave it), so ApprovedBy is cleared and the next production needs a
// new one. A nondisclosure order ends at NondisclosureUntil, the start
// (in the library's zone) of the day after the last day it applies, or
// when an officer lifts it (NondisclosureLiftedAt).
type LegalRequest struct {
	ID               int64
	Kind             string
	Issuer           string
	Reference        string
	ReceivedOn       time.Time
	AttorneyReviewed bool // before 202612020002; ReviewOutcome replaces it
	Nondisclosure    bool
	Notes            string
	CreatedBy        *int64
	CreatedAt        time.Time
	ClosedAt         *time.Time

	OfficerName   string
	OfficerAgency string
	IdentityCheck string // how the officer's identity was checked

	ScopeCategories string // export keys, comma-separated
	ScopeFrom       *time.Time
	ScopeTo         *time.Time

	NondisclosureUntil    *time.Time
	NondisclosureLiftedAt *time.Time
	NondisclosureLiftedBy *int64
	// NondisclosureEndedRecordedAt is when the end of the order (lifted,
	// or run out) was written into each covered patron's staff-access
	// list: once per request.
	NondisclosureEndedRecordedAt *time.Time

	Reviewer         string // who reviewed it for the library (the City Attorney's office)
	ReviewedOn       *time.Time
	ReviewOutcome    string // "" (not yet), ReviewFavourable, ReviewRefused
	ReviewNotes      string
	ReviewRecordedBy *int64
	ApprovedBy       *int64
	ApprovedAt       *time.Time
}

// NondisclosureInForce says whether a nondisclosure order forbids telling
// the covered patrons about the request at now: until its end date (a
// request recorded before end dates were asked for has none, and stays in
// force until an officer lifts it) or until it is lifted.
func (r LegalRequest) NondisclosureInForce(now time.Time) bool {
	return r.Nondisclosure && r.NondisclosureLiftedAt == nil &&
		(r.NondisclosureUntil == nil || now.Before(*r.NondisclosureUntil))
}

// CourtIssued says whether the request's kind of process was issued by a
// court: only such a request can ever produce records.
func (r LegalRequest) CourtIssued() bool {
	for _, k := range LegalKinds {
		if k.Value == r.Kind {
			return k.CourtIssued
		}
	}
	return false
}

// Outcomes of a legal review.
const (
	ReviewFavourable = "favourable"
	ReviewRefused    = "refused"
)

// LegalProduction is one package of records produced for a request:
// what it covered and the SHA-256 of the package and of each part (in
// the manifest), who produced it and who approved it.
type LegalProduction struct {
	ID            int64
	RequestID     int64
	Categories    string // export keys, comma-separated
	ScopeFrom     *time.Time
	ScopeTo       *time.Time
	Manifest      string // the manifest.json written into the package
	PackageSHA256 string `gorm:"column:package_sha256"`
	ProducedBy    *int64
	ApprovedBy    *int64
	ProducedAt    time.Time
}

// LegalProductionPatron is one patron's part of a production.
type LegalProductionPatron struct {
	ProductionID int64 `gorm:"primaryKey;autoIncrement:false"`
	PatronID     int64 `gorm:"primaryKey;autoIncrement:false"`
	Part         string
	SHA256       string `gorm:"column:sha256"`
}

// LegalRequestPatron is a patron a legal request covers.
type LegalRequestPatron struct {
	RequestID  int64 `gorm:"primaryKey"`
	PatronID   int64 `gorm:"primaryKey"`
	ProducedAt *time.Time
	ToldAt     *time.Time // emailed when the request could first be told
}

// LegalHold suspends retention for one patron's records until released.
type LegalHold struct {
	ID         int64
	PatronID   int64
	RequestID  *int64
	PlacedBy   *int64
	PlacedAt   time.Time
	ReleasedAt *time.Time
}

// PatronModels lists every model that holds data about one patron. The
// overview, the export and the retention schedule are checked against it.
func PatronModels() []any {
	return []any{
		&Loan{}, &HistoryEntry{}, &Hold{}, &Fine{}, &ILLRequest{},
		&ReferenceQuestion{}, &ComputerSession{}, &Subscription{},
		&Favorite{}, &Notification{}, &ConsentEntry{}, &AuditEntry{}, &Session{},
	}
}

// LegalModels hold patron references that the patron is deliberately not
// shown: the policy says patrons cannot be told of a request under a
// nondisclosure order. What the patron may be told is the audit entry for
// producing their records, which is shown unless such an order applies.
func LegalModels() []any {
	return []any{&LegalRequestPatron{}, &LegalHold{}, &LegalProductionPatron{}}
}

// KeptSummary is what the overview shows of one category for a patron:
// how many records, the newest, and the least date retention counts from.
// Triggers keep it from the category's rows (see summaries.go); no Go code
// writes it.
type KeptSummary struct {
	PatronID    int64  `gorm:"primaryKey;autoIncrement:false"`
	Slug        string `gorm:"primaryKey"`
	N           int64
	NewestAt    time.Time
	NewestID    int64
	NewestLabel *string
	OldestAt    *time.Time
}

// DerivedModels restate what other tables hold about a patron and hold
// nothing of their own: the patron sees and downloads the rows they are
// worked out from, and they change or go when those rows do. The consent
// outbox is a copy of ledger entries on their way to other systems; its
// state shows in the patron's consent history.
func DerivedModels() []any { return []any{&KeptSummary{}, &OutboxRow{}} }

// AllModels lists every model with a table.
func AllModels() []any {
	return append([]any{&Patron{}, &MailingList{}, &Staff{}, &SigninThrottle{},
		&SigninFailureBucket{}, &UsageCounter{}, &OPAC{}, &OPACKey{}, &HandoffToken{}, &Setting{}, &LegalRequest{}, &LegalProduction{},
		&Arrival{}, &ArrivalTerm{}, &APIKey{}, &Digest{}, &StaffRecoveryCode{}, &StaffOIDCState{}}, append(PatronModels(), append(LegalModels(), DerivedModels()...)...)...)
}

func (KeptSummary) TableName() string { return "patron_summaries" }
