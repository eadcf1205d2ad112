package models

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/carrel-library/carrel/views/i18n"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Store is the one way the rest of Carrel reads and changes data. Every
// method over patron data takes the patron's ID first.
type Store struct {
	DB    *gorm.DB
	Clock Clock
	Keys  *Keys
	// HashCost is the bcrypt cost of new PIN and password hashes.
	HashCost int
	// Limits bound failed sign-ins.
	Limits SigninLimits
	// Count, when set, counts an anonymous event (see web's statistics).
	Count func(name string)
	// ArrivalLinkOrigins are https origins, besides the registered
	// catalogs' (OPACOrigins), that new arrivals' catalog links may point
	// at (CARREL_ARRIVAL_LINK_ORIGINS). Links go into patrons' emails, so
	// no other site is accepted.
	ArrivalLinkOrigins []string
	// OnSecretCheck, when set, is called each time a PIN or password is
	// compared with a stored hash, so a test can count how many guesses a
	// policy really let through. It must be safe for concurrent use.
	OnSecretCheck func()
	// SessionCap, when set, replaces MaxPatronSessions (the benchmarks
	// open more sessions of one patron than a patron may).
	SessionCap int
	// PatronAuth, when set, checks patrons' cards and PINs with the
	// library's system (CARREL_PATRON_AUTH sip2 or koha) instead of the
	// stored PIN hashes.
	PatronAuth PatronProvider
	// ConsentTargets are the outbox targets every consent change is
	// written for (TargetKoha, TargetWebhookPrefix+URL); empty: none.
	ConsentTargets []string
	// Connectors is this instance's view of the connectors to the
	// library's systems, for the staff console.
	Connectors *Connectors
	// StaffTOTP is the second factor policy for local staff accounts
	// (CARREL_STAFF_TOTP; "" is TOTPRequiredForOfficers). It sets the
	// shortest password an account may have.
	StaffTOTP string
	// Sessions are the sign-in lifetimes the portal enforces
	// (CARREL_SESSION_IDLE and the absolute limit), for the active
	// sign-ins' retention text; zero: the defaults, 15 minutes and 8 hours.
	Sessions SessionLimits

	retention   Retention // the schedule in force; see RetentionNow
	retentionMu sync.RWMutex

	hashers   chan struct{} // bounds concurrent bcrypt work to the CPUs
	lane      *signinLane   // paces sign-ins while failures spike
	dummyHash string
}

// NewStore builds a Store. hashCost 0 means bcrypt's default.
func NewStore(db *gorm.DB, clock Clock, keys *Keys, hashCost int) (*Store, error) {
	if clock == nil {
		clock = SystemClock{}
	}
	if hashCost == 0 {
		hashCost = bcrypt.DefaultCost
	}
	s := &Store{
		DB:         db,
		Clock:      clock,
		Keys:       keys,
		HashCost:   hashCost,
		Limits:     DefaultSigninLimits(),
		retention:  DefaultRetention(),
		hashers:    make(chan struct{}, runtime.GOMAXPROCS(0)),
		lane:       newSigninLane(),
		Connectors: &Connectors{},
	}
	dummy, err := s.hashSecret(context.Background(), "dummy-"+RandomToken())
	if err != nil {
		return nil, err
	}
	s.dummyHash = dummy
	return s, nil
}

// Now is the store's current time.
func (s *Store) Now() time.Time { return now(s.Clock) }

func (s *Store) db(ctx context.Context) *gorm.DB { return s.DB.WithContext(ctx) }

// RetentionNow is the retention schedule in force.
func (s *Store) RetentionNow() Retention {
	s.retentionMu.RLock()
	defer s.retentionMu.RUnlock()
	return s.retention
}

// SetRetention puts a schedule in force in this process.
func (s *Store) SetRetention(r Retention) {
	s.retentionMu.Lock()
	s.retention = r
	s.retentionMu.Unlock()
}

// ReloadRetention reads the schedule privacy officers saved and puts it in
// force, so that every instance follows a change within minutes.
func (s *Store) ReloadRetention(ctx context.Context) error {
	r, err := s.LoadRetention(ctx)
	if err != nil {
		return err
	}
	s.SetRetention(r)
	return nil
}

// Categories lists the categories with retention texts from the schedule
// in force, and with whom consent changes are shared as configured.
func (s *Store) Categories() []Category {
	cats := CategoriesFor(s.RetentionNow())
	en := i18n.For(i18n.English)
	for i := range cats {
		switch cats[i].Slug {
		case sessionsCategory.Slug:
			cats[i].limits = s.Sessions
		case consentsCategory.Slug:
			cats[i].shared = s.consentsSharedWith()
		default:
			continue
		}
		cats[i] = cats[i].In(en)
	}
	return cats
}

// consentsSharedWith says who receives consent changes when the portal
// sends them on (ConsentTargets): Koha the reading-history choice, webhook
// receivers every change, as the catalog keys of the consent history's
// parties (see Category.shared). None when nothing is sent.
func (s *Store) consentsSharedWith() []string {
	var koha, hooks bool
	for _, t := range s.ConsentTargets {
		switch {
		case t == TargetKoha:
			koha = true
		case strings.HasPrefix(t, TargetWebhookPrefix):
			hooks = true
		}
	}
	var parts []string
	if koha {
		parts = append(parts, "shared.koha")
	}
	if hooks {
		parts = append(parts, "shared.webhooks")
	}
	return parts
}

// Category finds one category, with its retention text in force.
func (s *Store) Category(slug string) (Category, bool) {
	for _, c := range s.Categories() {
		if c.Slug == slug {
			return c, true
		}
	}
	return Category{}, false
}

// count counts an anonymous event, if counting is wired up.
func (s *Store) count(name string) {
	if s.Count != nil {
		s.Count(name)
	}
}
