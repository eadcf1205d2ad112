package models

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Cursor is a position in a list ordered newest first: the time and ID of
// a record. Pages are found by position, not by offset, so page 200 of a
// long history costs what page 1 does.
type Cursor struct {
	At time.Time
	ID int64
}

// String encodes a cursor for a URL.
func (c Cursor) String() string {
	return strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseCursor decodes a cursor from a URL; ok is false for anything else.
func ParseCursor(s string) (c Cursor, ok bool) {
	at, id, found := strings.Cut(s, ".")
	if !found || len(s) > 40 {
		return c, false
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n < 0 {
		return c, false
	}
	return Cursor{At: time.UnixMicro(us).UTC(), ID: n}, true
}

// PageRequest asks for the records older than After, or newer than
// Before, or the newest when neither is set.
type PageRequest struct {
	After, Before *Cursor
	Limit         int
	// Hide, when set, leaves out the records a patron's own pages do not
	// show (PatronView.Hide); staff and the system see them all.
	Hide *Hidden
}

// Page is one page of records, newest first, with the cursors that lead
// to the pages on either side (nil at either end).
type Page[T any] struct {
	Rows  []T
	Older *Cursor
	Newer *Cursor
}

// DefaultPageSize is how many rows a detail page shows.
const DefaultPageSize = 50

// keyset fetches one page of q ordered by (timeCol, idCol) descending.
func keyset[T any](q *gorm.DB, timeCol, idCol string, req PageRequest, key func(T) Cursor) (Page[T], error) {
	limit := req.Limit
	if limit <= 0 || limit > 500 {
		limit = DefaultPageSize
	}
	q = req.Hide.apply(q, idCol)
	tuple := "(" + timeCol + ", " + idCol + ")"
	var rows []T
	var err error
	switch {
	case req.Before != nil:
		err = q.Where(tuple+" > (?, ?)", req.Before.At, req.Before.ID).
			Order(timeCol + " ASC").Order(idCol + " ASC").Limit(limit + 1).Find(&rows).Error
		slices.Reverse(rows)
	case req.After != nil:
		err = q.Where(tuple+" < (?, ?)", req.After.At, req.After.ID).
			Order(timeCol + " DESC").Order(idCol + " DESC").Limit(limit + 1).Find(&rows).Error
	default:
		err = q.Order(timeCol + " DESC").Order(idCol + " DESC").Limit(limit + 1).Find(&rows).Error
	}
	if err != nil {
		return Page[T]{}, err
	}
	var p Page[T]
	more := len(rows) > limit
	if more {
		if req.Before != nil {
			rows = rows[1:]
		} else {
			rows = rows[:limit]
		}
	}
	p.Rows = rows
	if len(rows) == 0 {
		return p, nil
	}
	first, last := key(rows[0]), key(rows[len(rows)-1])
	if more || req.Before != nil {
		p.Older = &last
	}
	if req.After != nil || (req.Before != nil && more) {
		p.Newer = &first
	}
	return p, nil
}

func (s *Store) scoped(ctx context.Context, patronID int64, model any) *gorm.DB {
	return s.db(ctx).Model(model).Where("patron_id = ?", patronID)
}

func pageOf[T any](s *Store, ctx context.Context, patronID int64, model any, timeCol string, req PageRequest, at func(T) Cursor) (Page[T], error) {
	p, err := keyset(s.scoped(ctx, patronID, model), timeCol, "id", req, at)
	if err != nil {
		return p, fmt.Errorf("models: list %T: %w", model, err)
	}
	return p, nil
}

// Loans lists a patron's current loans, newest first.
func (s *Store) Loans(ctx context.Context, patronID int64, req PageRequest) (Page[Loan], error) {
	return pageOf(s, ctx, patronID, &Loan{}, "checked_out_at", req, func(r Loan) Cursor { return Cursor{r.CheckedOutAt, r.ID} })
}

// History lists a patron's reading history, most recently returned first.
func (s *Store) History(ctx context.Context, patronID int64, req PageRequest) (Page[HistoryEntry], error) {
	return s.HistoryMatching(ctx, patronID, HistoryFilter{}, req)
}

// HistoryFilter narrows a reading history: Text found in the title or
// the author (any case), returned at or after From and before To (each
// unset when nil). The zero filter is the whole history.
type HistoryFilter struct {
	Text     string
	From, To *time.Time
}

// Active says whether f narrows the history at all.
func (f HistoryFilter) Active() bool { return f.Text != "" || f.From != nil || f.To != nil }

// likeEscaper makes text match itself literally inside a LIKE pattern
// whose escape character is a backslash.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// apply narrows q, a patron's reading-history rows, to the filter. The
// rows are found by reading_history_patron_returned (patron, date); the
// text is matched on those rows only.
func (f HistoryFilter) apply(q *gorm.DB) *gorm.DB {
	if f.Text != "" {
		pat := "%" + likeEscaper.Replace(strings.ToLower(f.Text)) + "%"
		q = q.Where(`(LOWER(title) LIKE ? ESCAPE '\' OR LOWER(author) LIKE ? ESCAPE '\')`, pat, pat)
	}
	if f.From != nil {
		q = q.Where("returned_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("returned_at < ?", *f.To)
	}
	return q
}

// HistoryMatching lists the entries of a patron's reading history that
// match f, most recently returned first.
func (s *Store) HistoryMatching(ctx context.Context, patronID int64, f HistoryFilter, req PageRequest) (Page[HistoryEntry], error) {
	p, err := keyset(f.apply(s.scoped(ctx, patronID, &HistoryEntry{})), "returned_at", "id", req,
		func(r HistoryEntry) Cursor { return Cursor{r.ReturnedAt, r.ID} })
	if err != nil {
		return p, fmt.Errorf("models: list history: %w", err)
	}
	return p, nil
}

// HistoryRecords reads pages of the entries matching f, as a category's
// Records does: the reading-history page's search and dates.
func HistoryRecords(f HistoryFilter) func(context.Context, *Store, int64, PageRequest, SessionLimits) (RecordPage, error) {
	return recordsOf(func(s *Store, ctx context.Context, patronID int64, req PageRequest) (Page[HistoryEntry], error) {
		return s.HistoryMatching(ctx, patronID, f, req)
	})
}

// HistoryPlace counts, in one query, the entries of a patron's reading
// history that match f and that req.Hide leaves shown (total), and how
// many of those come before the entry at first, newest first (newer): the
// page count and the page a keyset page is on.
func (s *Store) HistoryPlace(ctx context.Context, patronID int64, f HistoryFilter, req PageRequest, first *Cursor) (total, newer int64, err error) {
	q := req.Hide.apply(f.apply(s.scoped(ctx, patronID, &HistoryEntry{})), "id")
	at, id := s.Now(), int64(-1) // no entry is newer than none
	if first != nil {
		at, id = first.At, first.ID
	}
	var out struct{ Total, Newer int64 }
	err = q.Select("COUNT(*) AS total, COALESCE(SUM(CASE WHEN returned_at > ? OR (returned_at = ? AND id > ?) THEN 1 ELSE 0 END), 0) AS newer",
		at, at, id).Scan(&out).Error
	if err != nil {
		return 0, 0, fmt.Errorf("models: count history: %w", err)
	}
	if first == nil {
		out.Newer = 0
	}
	return out.Total, out.Newer, nil
}

// Holds lists a patron's holds, newest first.
func (s *Store) Holds(ctx context.Context, patronID int64, req PageRequest) (Page[Hold], error) {
	return pageOf(s, ctx, patronID, &Hold{}, "placed_at", req, func(r Hold) Cursor { return Cursor{r.PlacedAt, r.ID} })
}

// Fines lists a patron's fines and fees, newest first.
func (s *Store) Fines(ctx context.Context, patronID int64, req PageRequest) (Page[Fine], error) {
	return pageOf(s, ctx, patronID, &Fine{}, "assessed_at", req, func(r Fine) Cursor { return Cursor{r.AssessedAt, r.ID} })
}

// ILLRequests lists a patron's interlibrary loans, newest first.
func (s *Store) ILLRequests(ctx context.Context, patronID int64, req PageRequest) (Page[ILLRequest], error) {
	return pageOf(s, ctx, patronID, &ILLRequest{}, "requested_at", req, func(r ILLRequest) Cursor { return Cursor{r.RequestedAt, r.ID} })
}

// ReferenceQuestions lists a patron's email reference questions.
func (s *Store) ReferenceQuestions(ctx context.Context, patronID int64, req PageRequest) (Page[ReferenceQuestion], error) {
	return pageOf(s, ctx, patronID, &ReferenceQuestion{}, "asked_at", req, func(r ReferenceQuestion) Cursor { return Cursor{r.AskedAt, r.ID} })
}

// ComputerSessions lists a patron's public-computer sessions.
func (s *Store) ComputerSessions(ctx context.Context, patronID int64, req PageRequest) (Page[ComputerSession], error) {
	return pageOf(s, ctx, patronID, &ComputerSession{}, "started_at", req, func(r ComputerSession) Cursor { return Cursor{r.StartedAt, r.ID} })
}

// Favorites lists a patron's favorite authors and subjects.
func (s *Store) Favorites(ctx context.Context, patronID int64, req PageRequest) (Page[Favorite], error) {
	return pageOf(s, ctx, patronID, &Favorite{}, "created_at", req, func(r Favorite) Cursor { return Cursor{r.CreatedAt, r.ID} })
}

// Notifications lists the notifications sent or waiting for a patron.
func (s *Store) Notifications(ctx context.Context, patronID int64, req PageRequest) (Page[Notification], error) {
	return pageOf(s, ctx, patronID, &Notification{}, "created_at", req, func(r Notification) Cursor { return Cursor{r.CreatedAt, r.ID} })
}

// Consents lists a patron's consent ledger, newest first.
func (s *Store) Consents(ctx context.Context, patronID int64, req PageRequest) (Page[ConsentEntry], error) {
	return pageOf(s, ctx, patronID, &ConsentEntry{}, "created_at", req, func(r ConsentEntry) Cursor { return Cursor{r.CreatedAt, r.ID} })
}

// SubscriptionRecord is a mailing list a patron is subscribed to.
type SubscriptionRecord struct {
	ID           int64     `json:"id"`
	ListSlug     string    `json:"list"`
	ListName     string    `json:"name"`
	Frequency    string    `json:"frequency"`
	Sender       string    `json:"sender"`
	SubscribedAt time.Time `json:"subscribed_at"`
}

func subscriptionQuery(db *gorm.DB, patronID int64) *gorm.DB {
	return db.Table("subscriptions").
		Select("subscriptions.id, mailing_lists.slug AS list_slug, mailing_lists.name AS list_name, "+
			"mailing_lists.frequency, mailing_lists.sender, subscriptions.subscribed_at").
		Joins("JOIN mailing_lists ON mailing_lists.id = subscriptions.list_id").
		Where("subscriptions.patron_id = ?", patronID)
}

// Subscriptions lists the mailing lists a patron is subscribed to.
func (s *Store) Subscriptions(ctx context.Context, patronID int64, req PageRequest) (Page[SubscriptionRecord], error) {
	p, err := keyset(subscriptionQuery(s.db(ctx), patronID), "subscriptions.subscribed_at", "subscriptions.id", req,
		func(r SubscriptionRecord) Cursor { return Cursor{r.SubscribedAt, r.ID} })
	if err != nil {
		return p, fmt.Errorf("models: list subscriptions: %w", err)
	}
	return p, nil
}

// StaffAccessRecord is one staff access to a patron's record, as the
// patron may see it.
type StaffAccessRecord struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"at"`
	StaffName string    `json:"staff_member"`
	Action    string    `json:"action"`
	Reason    string    `json:"reason"`
	Detail    string    `json:"detail"`
}

func staffAccessQuery(db *gorm.DB, patronID int64) *gorm.DB {
	return db.Table("audit_entries").
		Select("audit_entries.id, audit_entries.created_at, COALESCE(staff.display_name, '') AS staff_name, "+
			"audit_entries.action, audit_entries.reason, audit_entries.detail").
		Joins("LEFT JOIN staff ON staff.id = audit_entries.staff_id").
		Where("audit_entries.patron_id = ? AND audit_entries.restricted = ?", patronID, false)
}

// StaffAccess lists every staff access to a patron's record that the
// patron may be told about.
func (s *Store) StaffAccess(ctx context.Context, patronID int64, req PageRequest) (Page[StaffAccessRecord], error) {
	p, err := keyset(staffAccessQuery(s.db(ctx), patronID), "audit_entries.created_at", "audit_entries.id", req,
		func(r StaffAccessRecord) Cursor { return Cursor{r.CreatedAt, r.ID} })
	if err != nil {
		return p, fmt.Errorf("models: list staff access: %w", err)
	}
	return p, nil
}

// SessionRecord is one active sign-in, without its token or form token.
type SessionRecord struct {
	TokenHash  string    `json:"-"`
	Channel    string    `json:"channel"`
	CreatedAt  time.Time `json:"started_at"`
	LastSeenAt time.Time `json:"last_active_at"`
}

// ActiveSessions lists a patron's sign-ins that have not expired, most
// recently active first.
func (s *Store) ActiveSessions(ctx context.Context, patronID int64, limits SessionLimits) ([]SessionRecord, error) {
	return s.activeSessions(s.db(ctx), patronID, limits)
}

func (s *Store) activeSessions(db *gorm.DB, patronID int64, limits SessionLimits) ([]SessionRecord, error) {
	c := mustCategory("sessions")
	where, args := c.scope(patronID, s.Now(), limits)
	var out []SessionRecord
	err := db.Model(&Session{}).Select("token_hash, channel, created_at, last_seen_at").
		Where(where, args...).Order("last_seen_at DESC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: list sessions: %w", err)
	}
	return out, nil
}

// EndOtherSessions signs a patron out everywhere but the session whose
// token hash is keep, and reports how many sessions ended.
func (s *Store) EndOtherSessions(ctx context.Context, patronID int64, keep string) (int64, error) {
	res := s.db(ctx).Where("patron_id = ? AND token_hash <> ?", patronID, keep).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("models: end other sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
