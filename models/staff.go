package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// RoleRank orders the roles: each includes the powers of those below it.
func RoleRank(role string) int {
	switch role {
	case RoleAssistant:
		return 1
	case RolePrivacyOfficer:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// RoleName is a role as staff read it.
func RoleName(role string) string {
	switch role {
	case RoleAssistant:
		return "Assistant"
	case RolePrivacyOfficer:
		return "Privacy officer"
	case RoleAdmin:
		return "Administrator"
	}
	return role
}

// StaffMember loads an enabled staff account.
func (s *Store) StaffMember(ctx context.Context, staffID int64) (Staff, error) {
	var st Staff
	err := s.db(ctx).Where("id = ? AND disabled_at IS NULL", staffID).Take(&st).Error
	return st, notFound(err)
}

// validateStaff checks a new account's fields.
func validateStaff(username, role, password, policy string) error {
	switch {
	case username == "" || len(username) > 64 || strings.ContainsAny(username, " \t\r\n:"):
		return &InputError{Field: "username", Message: "A username is 1 to 64 characters, without spaces or colons."}
	case RoleRank(role) == 0:
		return &InputError{Field: "role", Message: "The role is assistant, privacy_officer or admin."}
	}
	return CheckStaffPasswordFor(username, password, SecondFactorRequired(policy, role))
}

// AddStaff creates a staff account, audited.
func (s *Store) AddStaff(ctx context.Context, username, displayName, role, password string) (Staff, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if err := validateStaff(username, role, password, s.StaffTOTP); err != nil {
		return Staff{}, err
	}
	if strings.TrimSpace(displayName) == "" {
		displayName = username
	}
	hash, err := s.hashSecret(ctx, password)
	if err != nil {
		return Staff{}, err
	}
	st := Staff{Username: username, DisplayName: strings.TrimSpace(displayName), Role: role, PasswordHash: hash}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&st).Error; err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{Action: AuditConfigChanged, Detail: "staff account added: " + username + " (" + role + ")"})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return Staff{}, &InputError{Field: "username", Message: "A staff account with that username already exists."}
	}
	return st, err
}

// DisableStaff disables an account and ends its sessions at once, with
// any assistance they were giving (each recorded as ended, for its patron
// to see).
func (s *Store) DisableStaff(ctx context.Context, username string) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var st Staff
		if err := tx.Where("username = ? AND disabled_at IS NULL", strings.ToLower(username)).Take(&st).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Model(&Staff{}).Where("id = ?", st.ID).UpdateColumn("disabled_at", s.Now()).Error; err != nil {
			return err
		}
		if _, err := s.endSessions(tx, AssistEndedDisabled, "staff_id = ?", st.ID); err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{Action: AuditConfigChanged, Detail: "staff account disabled: " + st.Username})
	})
}

// ResetStaffPassword sets a new password and ends the account's sessions.
func (s *Store) ResetStaffPassword(ctx context.Context, username, password string) error {
	username = strings.ToLower(strings.TrimSpace(username))
	// The shorter minimum holds for an account with a second factor, or
	// whose role must have one before it can sign in.
	var cur Staff
	if err := s.db(ctx).Where("username = ? AND disabled_at IS NULL", username).Take(&cur).Error; err != nil {
		return notFound(err)
	}
	if err := CheckStaffPasswordFor(username, password, cur.HasSecondFactor() || SecondFactorRequired(s.StaffTOTP, cur.Role)); err != nil {
		return err
	}
	hash, err := s.hashSecret(ctx, password)
	if err != nil {
		return err
	}
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var st Staff
		if err := tx.Where("username = ? AND disabled_at IS NULL", strings.ToLower(username)).Take(&st).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Model(&Staff{}).Where("id = ?", st.ID).UpdateColumn("password_hash", hash).Error; err != nil {
			return err
		}
		if _, err := s.endSessions(tx, AssistEndedPassword, "staff_id = ?", st.ID); err != nil {
			return err
		}
		return s.AppendAudit(tx, &AuditEntry{Action: AuditConfigChanged, Detail: "staff password reset: " + st.Username})
	})
}

// PatronSummary is what staff see about a patron: contact details and
// counts, never the PIN and never the records themselves.
type PatronSummary struct {
	Patron
	Counts []CategorySummary
}

// LookupPatrons finds patrons by exact card number, or by name (given,
// family, or both, case-insensitive), at most limit of them. Every patron
// shown is an audit entry naming the staff member, in one transaction.
func (s *Store) LookupPatrons(ctx context.Context, staffID int64, query string, limit int) ([]Patron, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, nil
	}
	var out []Patron
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Order("family_name, given_name, id").Limit(limit)
		if card := NormalizeCard(query); card != "" && strings.Trim(card, "0123456789") == "" {
			q = q.Where("card_number = ?", card)
		} else {
			like := "%" + escapeLike(strings.ToLower(query)) + "%"
			q = q.Where("LOWER(given_name || ' ' || family_name) LIKE ? ESCAPE '\\' OR LOWER(family_name || ', ' || given_name) LIKE ? ESCAPE '\\'", like, like)
		}
		if err := q.Find(&out).Error; err != nil {
			return err
		}
		for i := range out {
			if err := s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &out[i].ID, Action: AuditPatronLookup, Detail: "found by search"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("models: look up patrons: %w", err)
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// DetailRecordOpened is the detail of the audit entry of a patron's
// record opened by a staff member (action AuditPatronLookup).
const DetailRecordOpened = "record opened"

// ViewPatron shows one patron to a staff member. A visit to the record is
// one audit entry, "record opened" (openedSince nil). The record shown
// again within a visit, under a form of it sent back with an error, is
// openedSince set to the start of the staff member's session: it is
// recorded only if they have not opened this record since then, so that
// a form posted on its own, without the page, still shows nothing
// unrecorded.
func (s *Store) ViewPatron(ctx context.Context, staffID, patronID int64, limits SessionLimits, openedSince *time.Time) (PatronSummary, error) {
	var sum PatronSummary
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", patronID).Take(&sum.Patron).Error; err != nil {
			return notFound(err)
		}
		if openedSince != nil {
			var n int64
			err := tx.Model(&AuditEntry{}).Where("patron_id = ? AND staff_id = ? AND action = ? AND detail = ? AND created_at >= ?",
				patronID, staffID, AuditPatronLookup, DetailRecordOpened, openedSince.UTC().Truncate(time.Microsecond)).Count(&n).Error
			if err != nil || n > 0 {
				return err
			}
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &patronID, Action: AuditPatronLookup, Detail: DetailRecordOpened})
	})
	if err != nil {
		return sum, err
	}
	sum.Counts, err = s.Overview(ctx, sum.Patron, limits)
	return sum, err
}

// Assistance reasons.
var AssistReasons = []struct{ Value, Label string }{
	{"desk", "At the desk"},
	{"phone", "By phone"},
	{"email", "By email"},
	{"other", "Other (say why)"},
}

// AssistReasonLabel is a reason as the patron and staff read it.
func AssistReasonLabel(reason, note string) string {
	for _, r := range AssistReasons {
		if r.Value == reason {
			if reason == "other" {
				return "Other: " + note
			}
			return r.Label
		}
	}
	return reason
}

// IdentityCheck is a way a staff member checks that the person they are
// about to help is the patron, as staff choose it (Label) and as the
// assistance's audit entry tells the patron (Detail; "other" is followed
// by the staff member's note).
type IdentityCheck struct{ Value, Label, Detail string }

// IdentityChecks are the ways, in the order staff see them.
var IdentityChecks = []IdentityCheck{
	{"card", "Library card seen", "checked it was you by seeing your library card"},
	{"questions", "Questions asked (address, date of birth …)", "checked it was you by asking about details such as your address or date of birth"},
	{"other", "Other (say how)", "checked it was you another way: "},
}

// IdentityCheckDetail is how the staff member checked the patron's
// identity, in the patron's words; "" for an unknown check, or "other"
// without a note.
func IdentityCheckDetail(check, note string) string {
	for _, c := range IdentityChecks {
		switch {
		case c.Value != check:
		case check != "other":
			return c.Detail
		case note != "":
			return c.Detail + note
		}
	}
	return ""
}

// RecentPatron is a patron a staff member opened or started assisting.
type RecentPatron struct {
	ID                    int64
	GivenName, FamilyName string
	CardNumber            string
}

// FullName is the patron's name as shown.
func (r RecentPatron) FullName() string {
	return Patron{GivenName: r.GivenName, FamilyName: r.FamilyName}.FullName()
}

// RecentPatrons lists the patrons whose record the staff member opened, or
// whom they started assisting, since a time (the start of their session),
// the most recent first, at most limit of them. It reads the audit log,
// so it lists nothing that was not recorded; and looks nobody up anew.
func (s *Store) RecentPatrons(ctx context.Context, staffID int64, since time.Time, limit int) ([]RecentPatron, error) {
	var out []RecentPatron
	err := s.db(ctx).Table("audit_entries").
		Select("patrons.id, patrons.given_name, patrons.family_name, patrons.card_number").
		Joins("JOIN patrons ON patrons.id = audit_entries.patron_id").
		Where("audit_entries.staff_id = ? AND audit_entries.created_at >= ?", staffID, since.UTC().Truncate(time.Microsecond)).
		Where("((audit_entries.action = ? AND audit_entries.detail = ?) OR audit_entries.action = ?)",
			AuditPatronLookup, DetailRecordOpened, AuditAssistStart).
		Group("patrons.id, patrons.given_name, patrons.family_name, patrons.card_number").
		// Audit entries are numbered in the order they were written.
		Order("MAX(audit_entries.id) DESC").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: recent patrons: %w", err)
	}
	return out, nil
}

// RecordAssist appends an assistance audit entry naming both the staff
// member and the patron: its start. Its end goes through EndAssist, or
// with the session that carried it (endSessions), so that it is recorded
// once.
func (s *Store) RecordAssist(ctx context.Context, staffID, patronID int64, action, reason, detail string) error {
	return s.db(ctx).Transaction(func(tx *gorm.DB) error {
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &patronID, Action: action, Reason: reason, Detail: detail})
	})
}

// auditAssisted records, inside the transaction of a change, that a staff
// member made it while assisting the patron.
func (s *Store) auditAssisted(tx *gorm.DB, patronID int64, a Actor, what string) error {
	if a.StaffID == nil {
		return nil
	}
	return s.AppendAudit(tx, &AuditEntry{StaffID: a.StaffID, PatronID: &patronID, Action: AuditAssistAction, Reason: a.Reason, Detail: what})
}

// AssistNotices lists what staff did while assisting the patron since the
// patron last dismissed the notice.
//
// Like every patron page, it leaves out entries past their retention that
// a hold the patron may not be told of keeps (see PatronView).
func (s *Store) AssistNotices(ctx context.Context, p Patron) ([]StaffAccessRecord, error) {
	v, err := s.PatronView(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return s.AssistNoticesFor(ctx, p, v)
}

// AssistNoticesFor is AssistNotices for a PatronView the caller has
// worked out for p.
func (s *Store) AssistNoticesFor(ctx context.Context, p Patron, v PatronView) ([]StaffAccessRecord, error) {
	q := v.HideFrom(staffAccessQuery(s.db(ctx), p.ID), "audit_entries", "audit_entries.id").
		Where("audit_entries.action IN ?", []string{AuditAssistStart, AuditAssistAction})
	if p.AssistSeenAt != nil {
		q = q.Where("audit_entries.created_at > ?", *p.AssistSeenAt)
	}
	var out []StaffAccessRecord
	if err := q.Order("audit_entries.created_at, audit_entries.id").Limit(100).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: assist notices: %w", err)
	}
	return out, nil
}

// StaffAccessSince counts the staff accesses to patron p's record later
// than since that the patron's pages list (see StaffAccess): the
// overview's "since your last visit".
func (s *Store) StaffAccessSince(ctx context.Context, patronID int64, v PatronView, since time.Time) (int64, error) {
	q := s.db(ctx).Table("audit_entries").
		Where("audit_entries.patron_id = ? AND audit_entries.restricted = ? AND audit_entries.created_at > ?", patronID, false, since)
	var n int64
	if err := v.HideFrom(q, "audit_entries", "audit_entries.id").Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: staff access since: %w", err)
	}
	return n, nil
}

// ErrSeenUntil refuses a notice dismissal whose page time is in the
// future.
var ErrSeenUntil = errors.New("the page's time is in the future")

// DismissAssistNotices records that the patron has read the notices
// (assistance and legal process) as a page rendered at seenUntil showed
// them: what came after stays to be shown. The time only moves forward,
// so an old tab's button hides nothing a newer page did not show, and
// brings back nothing a newer page dismissed.
func (s *Store) DismissAssistNotices(ctx context.Context, patronID int64, seenUntil time.Time) error {
	if seenUntil.After(s.Now()) {
		return ErrSeenUntil
	}
	return s.db(ctx).Model(&Patron{}).Where("id = ? AND (assist_seen_at IS NULL OR assist_seen_at < ?)", patronID, seenUntil).
		UpdateColumn("assist_seen_at", seenUntil).Error
}

// AuditFilter narrows the audit log for privacy officers.
type AuditFilter struct {
	Action     string
	Staff      string // username
	PatronCard string
	From, To   *time.Time
}

// AuditRecord is an audit entry as privacy officers read it.
type AuditRecord struct {
	ID         int64
	CreatedAt  time.Time
	StaffName  string
	Username   string
	PatronCard string
	Action     string
	Reason     string
	Detail     string
	Restricted bool
}

// AuditLog lists audit entries, newest first, one page at a time.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter, req PageRequest) (Page[AuditRecord], error) {
	q := auditQuery(s.db(ctx), f)
	p, err := keyset(q, "audit_entries.created_at", "audit_entries.id", req,
		func(r AuditRecord) Cursor { return Cursor{r.CreatedAt, r.ID} })
	if err != nil {
		return p, fmt.Errorf("models: audit log: %w", err)
	}
	return p, nil
}

// AuditActions lists the actions an audit entry can record.
func AuditActions() []string {
	out := make([]string, len(auditLabels))
	for i, l := range auditLabels {
		out[i] = l.action
	}
	return out
}

// AllStaff lists every staff account, enabled first.
func (s *Store) AllStaff(ctx context.Context) ([]Staff, error) {
	var out []Staff
	err := s.db(ctx).Order("disabled_at IS NOT NULL, username").Find(&out).Error
	return out, err
}
