package models

import (
	"context"
	"runtime"
	"time"

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
	// Retention is the retention schedule.
	Retention Retention

	hashers   chan struct{} // bounds concurrent bcrypt work to the CPUs
	slowLane  chan struct{} // serialises sign-ins while failures spike
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
		DB:        db,
		Clock:     clock,
		Keys:      keys,
		HashCost:  hashCost,
		Limits:    DefaultSigninLimits(),
		Retention: DefaultRetention(),
		hashers:   make(chan struct{}, runtime.GOMAXPROCS(0)),
		slowLane:  make(chan struct{}, 1),
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
