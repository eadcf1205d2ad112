package models

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/views/i18n"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Retention is how long each time-limited kind of record is kept once it
// has served its purpose. The policy caps email reference questions at
// twelve months; the rest are the library's defaults (docs/retention.md
// gives a reason for each).
type Retention struct {
	ReferenceMonths   int // after the question was asked; at most 12
	HoldDays          int // after a hold is filled or cancelled
	FineDays          int // after a fine is paid or waived
	ILLDays           int // after an interlibrary loan is completed
	ComputerHours     int // after a computer session started
	NotificationDays  int // after a notification was sent
	AuditYears        int // after a staff access was recorded
	ConsentExtraYears int // after the consent a ledger entry proves was replaced
}

// DefaultRetention is the schedule Carrel ships with.
func DefaultRetention() Retention {
	return Retention{
		ReferenceMonths:   12,
		HoldDays:          30,
		FineDays:          90,
		ILLDays:           90,
		ComputerHours:     24,
		NotificationDays:  30,
		AuditYears:        2,
		ConsentExtraYears: 2,
	}
}

// ScheduleRule is a time-limited category's line of the retention
// schedule: the setting that configures it, when a record is due, and the
// rule in words. Each category's descriptor carries its own.
type ScheduleRule struct {
	RetentionRule // Key, Label, Unit, Min, Max, Reason (Value is read by Rules)
	// Pos is the rule's place on the schedule (the settings page).
	Pos int
	// value points at the rule's setting in a schedule.
	value func(r *Retention) *int
	// due is when a record whose retention counts from t is deleted.
	due func(r Retention, t time.Time) time.Time
	// describe says the rule in words, from the values in force, in t's
	// language.
	describe func(t *i18n.Tr, r Retention) string
	// empty, when set, is the category's Empty text from the values in
	// force, for one that names the period.
	empty func(t *i18n.Tr, r Retention) string
}

// schedule is the categories' rules, in the order the schedule lists them.
var schedule []*ScheduleRule

func scheduleOf(registry []*Category) []*ScheduleRule {
	var out []*ScheduleRule
	for _, c := range registry {
		if c.Schedule != nil {
			out = append(out, c.Schedule)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pos < out[j].Pos })
	return out
}

// due returns when a record whose retention counts from t is deleted,
// for the category with the given slug, and false for categories that
// are not time-limited.
func (r Retention) due(slug string, t time.Time) (time.Time, bool) {
	if c, ok := bySlug[slug]; ok && c.Schedule != nil {
		return c.Schedule.due(r, t), true
	}
	return time.Time{}, false
}

// Due is when a record of category slug, whose retention counts from t,
// will be deleted; ok is false when the category is not time-limited.
func (r Retention) Due(slug string, t time.Time) (due time.Time, ok bool) { return r.due(slug, t) }

// RetentionRule describes one configurable line of the schedule: its
// current value, the bounds the code enforces, and its unit.
type RetentionRule struct {
	Key      string // settings name suffix and form field
	Label    string
	Unit     string // "months", "days", "hours", "years"
	Value    int
	Min, Max int
	Reason   string
}

// Rules lists the schedule's configurable lines with their enforced bounds.
// Email reference questions can never be kept more than twelve months: the
// policy says so (see category_reference.go).
func (r Retention) Rules() []RetentionRule {
	out := make([]RetentionRule, len(schedule))
	for i, rule := range schedule {
		out[i] = rule.RetentionRule
		out[i].Value = *rule.value(&r)
	}
	return out
}

// Set changes one rule after checking it against its bounds.
func (r *Retention) Set(key string, v int) error {
	for _, rule := range schedule {
		if rule.Key != key {
			continue
		}
		if v < rule.Min || v > rule.Max {
			return &InputError{Field: key, Message: fmt.Sprintf("Choose between %d and %d %s.", rule.Min, rule.Max, rule.Unit)}
		}
		*rule.value(r) = v
		return nil
	}
	return &InputError{Field: key, Message: "No such retention rule."}
}

// Describe says a time-limited category's rule in words, in English,
// from the values in force; ok is false for categories that are not
// time-limited.
func (r Retention) Describe(slug string) (string, bool) {
	if c, ok := bySlug[slug]; ok && c.Schedule != nil {
		return c.Schedule.describe(i18n.For(i18n.English), r), true
	}
	return "", false
}

const retentionPrefix = "retention."

// LoadRetention reads the schedule in force: the defaults, overridden by
// what privacy officers saved.
// AuditYearsMin is the shortest audit period the portal allows. A purge
// anchor whose cutoff is younger than that before its purge ran did not
// come from a purge that kept the rules.
const AuditYearsMin = 1

func (s *Store) LoadRetention(ctx context.Context) (Retention, error) {
	r := DefaultRetention()
	var rows []Setting
	if err := s.db(ctx).Where("name LIKE ?", retentionPrefix+"%").Find(&rows).Error; err != nil {
		return r, fmt.Errorf("models: load retention: %w", err)
	}
	for _, row := range rows {
		v, err := strconv.Atoi(row.Value)
		if err != nil {
			continue
		}
		// A stored value outside today's bounds is ignored, never obeyed.
		_ = r.Set(strings.TrimPrefix(row.Name, retentionPrefix), v)
	}
	return r, nil
}

// SaveRetention stores a changed schedule, audited, and puts it in force
// in this process at once (others pick it up at their next reload).
func (s *Store) SaveRetention(ctx context.Context, staffID int64, next Retention) error {
	cur, err := s.LoadRetention(ctx)
	if err != nil {
		return err
	}
	var changes []string
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		old := map[string]int{}
		for _, rule := range cur.Rules() {
			old[rule.Key] = rule.Value
		}
		for _, rule := range next.Rules() {
			if old[rule.Key] == rule.Value {
				continue
			}
			if rule.Value < rule.Min || rule.Value > rule.Max {
				return &InputError{Field: rule.Key, Message: fmt.Sprintf("Choose between %d and %d %s.", rule.Min, rule.Max, rule.Unit)}
			}
			changes = append(changes, fmt.Sprintf("%s %d→%d %s", rule.Key, old[rule.Key], rule.Value, rule.Unit))
			err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"})}).
				Create(&Setting{Name: retentionPrefix + rule.Key, Value: strconv.Itoa(rule.Value), UpdatedAt: s.Now()}).Error
			if err != nil {
				return err
			}
		}
		if len(changes) == 0 {
			return nil
		}
		return s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, Action: AuditConfigChanged, Detail: "retention: " + strings.Join(changes, ", ")})
	})
	if err == nil {
		s.SetRetention(next)
	}
	return err
}
