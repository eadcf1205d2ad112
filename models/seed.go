package models

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// The demo data gives every screen of the portal something to show: a
// patron with eight years of reading history and a record in every
// category, a patron with almost nothing, a handful of ordinary patrons for
// staff to look up, one staff account per role, and three mailing lists.
// Its accounts have well-known secrets, so the server warns while they
// exist (see DemoDataPresent).

// Demo card numbers and secrets. They are published in the README.
const (
	demoCard1 = "21000000000001"
	demoPIN1  = "1234"
	demoCard2 = "21000000000002"
	demoPIN2  = "5678"
	// The further demo patrons, 21000000000003 onwards, share one PIN.
	demoOtherPIN = "0000"
	demoOthers   = 8

	demoHistoryRows = 5000
	demoLibrary     = "Santa Monica Public Library"
	demoMainBranch  = "Main Library"
	demoSender      = "Santa Monica Public Library <news@library.example.org>"
	demoCatalogURL  = DemoCatalogOrigin + "/record/"
	demoTextVersion = "2026-01"
)

// DemoCatalogOrigin is the made-up catalog the demo data links to. In demo
// mode it is where new arrivals' catalog links may point unless
// CARREL_ARRIVAL_LINK_ORIGINS says otherwise, so that the demo's arrival
// upload works before any catalog is registered.
const DemoCatalogOrigin = "https://catalog.library.example.org"

type demoStaffAccount struct {
	username, password, role, displayName string
}

// DemoTOTPSecret is the authenticator secret (base32) the demo's privacy
// officer and admin are enrolled with, so that anyone trying the demo can
// add it to an authenticator app and sign in. Demo only: SeedDemo is the
// one place that uses it, and `carrel seed` refuses to run without --demo.
const DemoTOTPSecret = "CARRELDEMOTOTPKEYFORTRYINGITOUT2" // #nosec G101 -- the demo's published key, like its published passwords

var demoStaff = []demoStaffAccount{
	{"staff", "staff-demo-pass", RoleAssistant, "Sam Staff"},
	{"officer", "officer-demo-pass", RolePrivacyOfficer, "Olive Officer"},
	{"admin", "admin-demo-pass", RoleAdmin, "Ada Admin"},
}

// DemoAccount is one sign-in of the demo data.
type DemoAccount struct {
	Kind   string // "patron" or "staff"
	Login  string // card number or username
	Secret string // PIN or password
	// TOTP is the authenticator secret (base32) of a demo account whose
	// role needs a second factor (DemoTOTPSecret), or "".
	TOTP string
	Note string // what the account shows
}

// DemoAccounts lists the sign-ins that SeedDemo creates, for the command
// line to print.
func DemoAccounts() []DemoAccount {
	accounts := []DemoAccount{
		{Kind: "patron", Login: demoCard1, Secret: demoPIN1,
			Note: "Alex Demo: reading history on, favorites linked, two mailing lists, something in every category"},
		{Kind: "patron", Login: demoCard2, Secret: demoPIN2,
			Note: "Blake Sample: history off, nothing linked, one reference question past the 12-month limit"},
	}
	for _, st := range demoStaff {
		a := DemoAccount{Kind: "staff", Login: st.username, Secret: st.password,
			Note: st.displayName + " (" + st.role + ")"}
		if SecondFactorRequired(TOTPRequiredForOfficers, st.role) {
			a.TOTP = DemoTOTPSecret
		}
		accounts = append(accounts, a)
	}
	return accounts
}

// demoCards lists the card numbers of the demo patrons.
func demoCards() []string {
	cards := []string{demoCard1, demoCard2}
	for i := range demoOthers {
		cards = append(cards, demoOtherCard(i))
	}
	return cards
}

func demoOtherCard(i int) string { return fmt.Sprintf("210000000000%02d", i+3) }

// DemoDataPresent reports whether any demo account exists: a demo patron
// with a published PIN or a demo staff account with a published password.
func (s *Store) DemoDataPresent(ctx context.Context) (bool, error) {
	var patrons, staff int64
	if err := s.db(ctx).Model(&Patron{}).Where("card_number IN ?", demoCards()).Count(&patrons).Error; err != nil {
		return false, fmt.Errorf("models: look for demo patrons: %w", err)
	}
	usernames := make([]string, 0, len(demoStaff))
	for _, st := range demoStaff {
		usernames = append(usernames, st.username)
	}
	if err := s.db(ctx).Model(&Staff{}).Where("username IN ?", usernames).Count(&staff).Error; err != nil {
		return false, fmt.Errorf("models: look for demo staff: %w", err)
	}
	return patrons+staff > 0, nil
}

// SeedResult says what SeedDemo created. Created is false when all the
// demo data was already there.
type SeedResult struct {
	Created bool
	Patrons int // patrons created
	Staff   int // staff accounts created
	Lists   int // mailing lists created
}

// SeedDemo creates the demo data, with every date relative to the store's
// clock. It is idempotent: patrons, staff and lists are recognised by card
// number, username and slug, and whatever already exists is left as it is
// (a demo patron that exists keeps its data; nothing is added to it). It
// runs in one transaction, so a failure leaves nothing behind. The data is
// the same on every run: the random choices come from a fixed seed.
func (s *Store) SeedDemo(ctx context.Context) (SeedResult, error) {
	var res SeedResult
	hashes := map[string]string{} // bcrypt is slow: hash each secret once
	hash := func(secret string) (string, error) {
		if h, ok := hashes[secret]; ok {
			return h, nil
		}
		h, err := s.HashSecret(ctx, secret)
		if err != nil {
			return "", err
		}
		hashes[secret] = h
		return h, nil
	}
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if DialectOfDB(tx) == Postgres {
			// Two seeds at once would otherwise both find nothing and
			// collide on the unique keys.
			if err := tx.Exec(fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", lockSeed)).Error; err != nil {
				return fmt.Errorf("seed lock: %w", err)
			}
		}
		sd := &seeder{tx: tx, now: s.Now(), hash: hash, audit: s.AppendAudit, keys: s.Keys, res: &res}
		return sd.run()
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("models: seed demo data: %w", err)
	}
	res.Created = res.Patrons+res.Staff+res.Lists > 0
	return res, nil
}

type seeder struct {
	tx   *gorm.DB
	now  time.Time
	hash func(secret string) (string, error)
	// audit appends to the keyed audit chain (Store.AppendAudit).
	audit func(tx *gorm.DB, e *AuditEntry) error
	// keys seal the demo's authenticator secret.
	keys *Keys
	res  *SeedResult

	lists map[string]*MailingList // by slug
	staff map[string]*Staff       // by username
}

func (sd *seeder) run() error {
	if err := sd.seedLists(); err != nil {
		return err
	}
	if err := sd.seedStaff(); err != nil {
		return err
	}
	if err := sd.seedAlex(); err != nil {
		return err
	}
	if err := sd.seedBlake(); err != nil {
		return err
	}
	for i := range demoOthers {
		if err := sd.seedOther(i); err != nil {
			return err
		}
	}
	return nil
}

// ago is a moment before now.
func (sd *seeder) ago(d time.Duration) time.Time { return sd.now.Add(-d) }

// daysAgo is a moment n days before now (negative n: after).
func (sd *seeder) daysAgo(n int) time.Time { return sd.now.AddDate(0, 0, -n) }

func demoPtr[T any](v T) *T { return &v }

const demoDay = 24 * time.Hour

// --- mailing lists and staff ---

var demoLists = []MailingList{
	{
		Slug:        "librarians-picks",
		Name:        "Librarians' Picks",
		Description: "A monthly newsletter: the newest books, films and audiobooks on our shelves, picked by our librarians for everyone.",
		Frequency:   "monthly",
		ConsentText: "Yes, please send me Librarians' Picks, a monthly email from the Santa Monica Public Library " +
			"with the newest books, films and audiobooks on our shelves, picked by our librarians. " +
			"The library uses my email address only to send this newsletter: it is never sold, and shared with " +
			"no one but law enforcement with a court order the library has reviewed, " +
			"and it is not linked to anything I borrow. I can leave the list at any time, from my account " +
			"or with the one-click link at the foot of every issue.",
	},
	{
		Slug:        "events",
		Name:        "Library Events & Programs",
		Description: "Author talks, story times, workshops and film screenings at every branch.",
		Frequency:   "weekly",
		ConsentText: "Yes, please send me a weekly email about what is happening at the Santa Monica Public " +
			"Library: author talks, story times, craft and technology workshops, film screenings and " +
			"programs for every age, at every branch. The library uses my email address only for this " +
			"message, gives it to no one else but law enforcement with a court order the library has reviewed, " +
			"and keeps it apart from my borrowing. I can stop it at any " +
			"time, from my account or with the one-click link in each email.",
	},
	{
		Slug:        "friends",
		Name:        "Friends of the Library",
		Description: "Book-sale dates and news from the Friends of the Santa Monica Public Library.",
		Frequency:   "quarterly",
		ConsentText: "Yes, please send me the Friends of the Library newsletter, four times a year: dates of " +
			"the Friends' book sales, bargains from the used-book store, and how the money raised helps " +
			"the library. The library sends it itself and does not give my email address to the Friends " +
			"or to anyone else but law enforcement with a court order the library has reviewed, and it is not linked to what I borrow. I can leave the list at any time, " +
			"from my account or with the one-click link in each issue.",
	},
}

func (sd *seeder) seedLists() error {
	sd.lists = map[string]*MailingList{}
	for i, tmpl := range demoLists {
		var l MailingList
		if err := sd.tx.Where("slug = ?", tmpl.Slug).Limit(1).Find(&l).Error; err != nil {
			return fmt.Errorf("find list %s: %w", tmpl.Slug, err)
		}
		if l.ID == 0 {
			l = tmpl
			l.Sender = demoSender
			l.ConsentVersion = 1
			l.CreatedAt = sd.daysAgo(3*365 - 30*i)
			if err := sd.tx.Create(&l).Error; err != nil {
				return fmt.Errorf("create list %s: %w", tmpl.Slug, err)
			}
			sd.res.Lists++
		}
		sd.lists[l.Slug] = &l
	}
	return nil
}

func (sd *seeder) seedStaff() error {
	sd.staff = map[string]*Staff{}
	for i, a := range demoStaff {
		var st Staff
		if err := sd.tx.Where("username = ?", a.username).Limit(1).Find(&st).Error; err != nil {
			return fmt.Errorf("find staff %s: %w", a.username, err)
		}
		if st.ID == 0 {
			h, err := sd.hash(a.password)
			if err != nil {
				return err
			}
			st = Staff{Username: a.username, DisplayName: a.displayName, Role: a.role,
				PasswordHash: h, CreatedAt: sd.daysAgo(2*365 - 7*i)}
			if err := sd.tx.Create(&st).Error; err != nil {
				return fmt.Errorf("create staff %s: %w", a.username, err)
			}
			sd.res.Staff++
		}
		// The officer and the admin have the demo's fixed authenticator
		// (also when an older seed made them without one), so that the
		// second step can be tried with any app.
		if SecondFactorRequired(TOTPRequiredForOfficers, a.role) && st.TOTPSecret == "" {
			st.TOTPSecret = sd.keys.Seal(totpSealPurpose, []byte(DemoTOTPSecret))
			st.TOTPEnrolledAt = &sd.now
			if err := sd.tx.Model(&Staff{}).Where("id = ?", st.ID).UpdateColumns(map[string]any{
				"totp_secret": st.TOTPSecret, "totp_enrolled_at": sd.now}).Error; err != nil {
				return fmt.Errorf("enrol staff %s: %w", a.username, err)
			}
		}
		sd.staff[st.Username] = &st
	}
	return nil
}

// createPatron creates p unless a patron with its card number exists, and
// reports whether it did.
func (sd *seeder) createPatron(p *Patron, pin string) (bool, error) {
	var n int64
	if err := sd.tx.Model(&Patron{}).Where("card_number = ?", p.CardNumber).Count(&n).Error; err != nil {
		return false, fmt.Errorf("find patron: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	h, err := sd.hash(pin)
	if err != nil {
		return false, err
	}
	p.PINHash = h
	if p.BorrowingStatus == "" {
		p.BorrowingStatus = StatusActive
	}
	if p.FavoritesNotice == "" {
		p.FavoritesNotice = "none"
	}
	if p.HomeBranch == "" {
		p.HomeBranch = demoMainBranch
	}
	if err := sd.tx.Create(p).Error; err != nil {
		return false, fmt.Errorf("create patron: %w", err)
	}
	sd.res.Patrons++
	return true, nil
}

// create inserts each of rows, stopping at the first error.
func (sd *seeder) create(what string, rows ...any) error {
	for _, r := range rows {
		if err := sd.tx.Create(r).Error; err != nil {
			return fmt.Errorf("create %s: %w", what, err)
		}
	}
	return nil
}

// cardExpiry is a card's expiry date, at midnight UTC, years from now.
func (sd *seeder) cardExpiry(years, days int) time.Time {
	y, m, d := sd.now.AddDate(years, 0, days).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// --- Alex Demo: something in every category ---

func (sd *seeder) seedAlex() error {
	rng := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- demo data from a fixed seed: reproducible, not secret
	p := &Patron{
		CardNumber:            demoCard1,
		GivenName:             "Alex",
		FamilyName:            "Demo",
		Email:                 "alex.demo@example.org",
		Phone:                 "310-555-0142",
		PostalAddress:         "1520 Fourth Street, Apt 3, Santa Monica, CA 90401",
		HomeBranch:            demoMainBranch,
		CardExpiresOn:         sd.cardExpiry(2, -17),
		BorrowingStatus:       StatusActive,
		ReadingHistoryEnabled: true,
		FavoritesLinked:       true,
		FavoritesNotice:       "weekly",
		LastSignInAt:          demoPtr(sd.ago(12*demoDay + 5*time.Hour)),
		CreatedAt:             sd.now.AddDate(-9, -2, 0),
	}
	created, err := sd.createPatron(p, demoPIN1)
	if err != nil || !created {
		return err
	}
	id := p.ID
	historyStart := sd.now.AddDate(-8, 0, 0)

	history := demoHistory(rng, id, sd.now, demoHistoryRows)
	if err := sd.tx.CreateInBatches(&history, 500).Error; err != nil {
		return fmt.Errorf("create reading history: %w", err)
	}

	loans := []*Loan{
		{Title: "The Lathe of Heaven", Author: "Le Guin, Ursula K.", Format: "Book",
			CheckedOutAt: sd.daysAgo(25), DueAt: sd.daysAgo(4), Renewals: 0},
		{Title: "Parable of the Sower", Author: "Butler, Octavia E.", Format: "Book",
			CheckedOutAt: sd.daysAgo(9), DueAt: sd.daysAgo(-12), Renewals: 0},
		{Title: "The Water-Wise Home", Author: "Whitfield, Marisol", Format: "Book",
			CheckedOutAt: sd.daysAgo(30), DueAt: sd.daysAgo(-5), Renewals: 1},
	}
	for _, l := range loans {
		l.PatronID, l.Branch, l.Barcode = id, demoMainBranch, demoItemBarcode(rng)
	}
	holds := []*Hold{
		{Title: "Klara and the Sun", Author: "Ishiguro, Kazuo", PickupBranch: demoMainBranch,
			Status: HoldReady, PlacedAt: sd.daysAgo(34), ReadyUntil: demoPtr(sd.daysAgo(-5))},
		{Title: "The Ministry for the Future", Author: "Robinson, Kim Stanley", PickupBranch: "Ocean Park Branch",
			Status: HoldWaiting, PlacedAt: sd.daysAgo(6)},
	}
	for _, h := range holds {
		h.PatronID = id
	}
	fines := []*Fine{
		{Description: "Overdue item", Title: "The Lathe of Heaven", AmountCents: 100,
			Status: FineOutstanding, AssessedAt: sd.daysAgo(1)},
		{Description: "Damaged item: water damage to cover", Title: "The Drought-Tolerant Garden",
			AmountCents: 1250, Status: FinePaid, AssessedAt: sd.daysAgo(41), SettledAt: demoPtr(sd.daysAgo(20))},
	}
	for _, f := range fines {
		f.PatronID = id
	}
	ill := &ILLRequest{PatronID: id, Title: "Bloodchild and Other Stories", Author: "Butler, Octavia E.",
		LendingLibrary: "UCLA Library", Status: ILLShipped, RequestedAt: sd.daysAgo(9)}
	asked := sd.now.AddDate(0, -3, 0)
	question := &ReferenceQuestion{PatronID: id,
		Subject: "Photographs of the Santa Monica Pier carousel",
		Question: "I'm writing a short history of the carousel on the Santa Monica Pier for my neighborhood " +
			"newsletter. Does the library have photographs of it from before 1950, and may I reproduce them?",
		Answer: "Thank you for your question! The Image Archives in our local history collection hold about " +
			"forty photographs of the Looff Hippodrome and its carousel from 1916 to 1949; several are in our " +
			"online collection. Most may be reproduced for non-commercial use with a credit line. A librarian " +
			"at the Main Library's reference desk will be glad to show you the prints.",
		AskedAt: asked, AnsweredAt: demoPtr(asked.Add(26 * time.Hour))}
	sessions := []*ComputerSession{
		{PatronID: id, Branch: demoMainBranch, Station: "MAIN-PC-07",
			StartedAt: sd.ago(19 * time.Hour), EndedAt: demoPtr(sd.ago(18*time.Hour + 5*time.Minute))},
		{PatronID: id, Branch: "Ocean Park Branch", Station: "OP-PC-02",
			StartedAt: sd.ago(3 * time.Hour), EndedAt: demoPtr(sd.ago(2*time.Hour + 30*time.Minute))},
	}
	if err := sd.create("activity", loans[0], loans[1], loans[2], holds[0], holds[1],
		fines[0], fines[1], ill, question, sessions[0], sessions[1]); err != nil {
		return err
	}

	// Favorites, and the notices they led to.
	linkedAt := sd.daysAgo(200)
	favorites := []struct{ kind, display string }{
		{FavoriteAuthor, "Butler, Octavia E."},
		{FavoriteAuthor, "Le Guin, Ursula K."},
		{FavoriteAuthor, "García Márquez, Gabriel"},
		{FavoriteSubject, "Science fiction -- History and criticism"},
		{FavoriteSubject, "Gardening"},
	}
	for i, f := range favorites {
		fav := &Favorite{PatronID: id, Kind: f.kind, Display: f.display,
			Normalized: NormalizeFavorite(f.kind, f.display), CreatedAt: linkedAt.Add(time.Duration(3+i) * time.Minute)}
		if err := sd.create("favorite", fav); err != nil {
			return err
		}
	}
	// The notice already sent went out in a weekly digest email, more than
	// a week ago, so its key can never be the current week's.
	sentAt := sd.daysAgo(8)
	digest := &Digest{PatronID: id, IdempotencyKey: DigestKey(id, NoticeWeekly, sentAt.Format("2006-01-02")),
		Status: DigestSent, Attempts: 1, NextAttemptAt: sentAt, CreatedAt: sentAt, SentAt: demoPtr(sentAt)}
	if err := sd.create("digest", digest); err != nil {
		return err
	}
	notices := []*Notification{
		{PatronID: id, Title: "Parable of the Sower: A Graphic Novel Adaptation", Author: "Duffy, Damian",
			CatalogURL: demoCatalogURL + "b2318840", Reason: "Butler, Octavia E.",
			CreatedAt: sd.daysAgo(9), SentAt: demoPtr(sentAt), DigestID: &digest.ID},
		{PatronID: id, Title: "The Coastal California Garden", Author: "Ferreira, Lucia",
			CatalogURL: demoCatalogURL + "b2320117", Reason: "Gardening",
			CreatedAt: sd.daysAgo(2)},
	}
	if err := sd.create("notification", notices[0], notices[1]); err != nil {
		return err
	}

	// Mailing lists, and the consent ledger behind every choice.
	consents := []*ConsentEntry{
		{Subject: ConsentReadingHistory, OldValue: "off", NewValue: "on", TextVersion: demoTextVersion,
			CreatedAt: historyStart.Add(-demoDay)},
		{Subject: ConsentFavoritesLink, OldValue: "off", NewValue: "on", TextVersion: demoTextVersion,
			CreatedAt: linkedAt},
		{Subject: ConsentFavoritesNotice, OldValue: "none", NewValue: "weekly", TextVersion: demoTextVersion,
			CreatedAt: linkedAt.Add(10 * time.Minute)},
	}
	for _, sub := range []struct {
		slug string
		at   time.Time
	}{{"librarians-picks", sd.daysAgo(400)}, {"events", sd.daysAgo(120)}} {
		list := sd.lists[sub.slug]
		if err := sd.create("subscription", &Subscription{PatronID: id, ListID: list.ID, SubscribedAt: sub.at}); err != nil {
			return err
		}
		consents = append(consents, &ConsentEntry{Subject: ConsentListPrefix + list.Slug, OldValue: "off", NewValue: "on",
			TextVersion: strconv.Itoa(list.ConsentVersion), CreatedAt: sub.at})
	}
	slices.SortFunc(consents, func(a, b *ConsentEntry) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, c := range consents {
		c.PatronID, c.Actor, c.Channel = id, ActorPatron, ChannelWeb
		if err := sd.create("consent entry", c); err != nil {
			return err
		}
	}

	// A staff member looked Alex up at the desk and helped with the account.
	staffID := sd.staff["staff"].ID
	lookedUp := sd.daysAgo(10)
	audit := []*AuditEntry{
		{CreatedAt: lookedUp, Action: AuditPatronLookup, Detail: "found by search"},
		{CreatedAt: lookedUp.Add(time.Minute), Action: AuditAssistStart, Reason: AssistReasonLabel("desk", "")},
		{CreatedAt: lookedUp.Add(14 * time.Minute), Action: AuditAssistEnd, Reason: AssistReasonLabel("desk", "")},
	}
	for _, e := range audit {
		e.StaffID, e.PatronID = demoPtr(staffID), demoPtr(id)
		if err := sd.audit(sd.tx, e); err != nil {
			return err
		}
	}
	return nil
}

// --- Blake Sample: history off, little else ---

func (sd *seeder) seedBlake() error {
	rng := rand.New(rand.NewPCG(1, 3)) // #nosec G404 -- demo data from a fixed seed: reproducible, not secret
	p := &Patron{
		CardNumber:      demoCard2,
		GivenName:       "Blake",
		FamilyName:      "Sample",
		Email:           "blake.sample@example.org",
		Phone:           "310-555-0187",
		PostalAddress:   "2601 Main Street, Santa Monica, CA 90405",
		HomeBranch:      "Ocean Park Branch",
		CardExpiresOn:   sd.cardExpiry(1, 64),
		BorrowingStatus: StatusActive,
		FavoritesNotice: "none",
		LastSignInAt:    demoPtr(sd.daysAgo(47)),
		CreatedAt:       sd.now.AddDate(-3, -4, 0),
	}
	created, err := sd.createPatron(p, demoPIN2)
	if err != nil || !created {
		return err
	}
	id := p.ID
	old := sd.now.AddDate(-1, -1, 0) // past the twelve months the policy allows
	recent := sd.now.AddDate(0, -2, 0)
	rows := []any{
		&ReferenceQuestion{PatronID: id, Subject: "Passport photos",
			Question: "Can I get a passport photo taken at any of the branches, and do I need an appointment?",
			Answer: "Passport photos are taken at the Main Library's passport office by appointment, " +
				"Tuesday to Saturday. You can book online or call the office; the fee is payable by card.",
			AskedAt: old, AnsweredAt: demoPtr(old.Add(20 * time.Hour))},
		&ReferenceQuestion{PatronID: id, Subject: "Tax forms",
			Question: "Do you have printed California 540 tax forms and instructions this year?",
			Answer: "Yes: the Main Library and the Ocean Park Branch have printed Form 540 and its " +
				"instructions at the information desk while supplies last, and we can print any other " +
				"form for you.",
			AskedAt: recent, AnsweredAt: demoPtr(recent.Add(3 * time.Hour))},
		&Loan{PatronID: id, Title: "The Joy of Cooking", Author: "Rombauer, Irma S.", Format: "Book",
			Barcode: demoItemBarcode(rng), CheckedOutAt: sd.daysAgo(8), DueAt: sd.daysAgo(-13), Branch: "Ocean Park Branch"},
		&Hold{PatronID: id, Title: "Dune", Author: "Herbert, Frank", PickupBranch: "Ocean Park Branch",
			Status: HoldCancelled, PlacedAt: sd.daysAgo(30), ClosedAt: demoPtr(sd.daysAgo(5))},
	}
	return sd.create("activity", rows...)
}

// --- ordinary patrons, for staff lookups ---

var demoPeople = []struct{ given, family, street string }{
	{"Carmen", "Alvarez", "1823 Pico Boulevard"},
	{"Deshawn", "Carter", "904 Pearl Street"},
	{"Eun-ji", "Park", "2240 Ocean Park Boulevard"},
	{"Farid", "Haddad", "1317 Montana Avenue"},
	{"Grace", "O'Connor", "735 Ashland Avenue"},
	{"Hiroshi", "Tanaka", "1102 Wilshire Boulevard"},
	{"Ingrid", "Ólafsdóttir", "2918 Lincoln Boulevard"},
	{"Jamal", "Okafor", "410 San Vicente Boulevard"},
}

var demoBranches = []string{demoMainBranch, "Fairview Branch", "Montana Avenue Branch", "Ocean Park Branch", "Pico Branch"}

func (sd *seeder) seedOther(i int) error {
	rng := rand.New(rand.NewPCG(1, uint64(100+i))) // #nosec G115 G404 -- demo data from a fixed seed: reproducible, not secret; i is small and positive
	who := demoPeople[i%len(demoPeople)]
	branch := demoBranches[rng.IntN(len(demoBranches))]
	p := &Patron{
		CardNumber:      demoOtherCard(i),
		GivenName:       who.given,
		FamilyName:      who.family,
		Email:           fmt.Sprintf("%s.%s@example.org", foldText(who.given), foldText(demoEmailSafe(who.family))),
		Phone:           fmt.Sprintf("310-555-01%02d", 10+i),
		PostalAddress:   who.street + ", Santa Monica, CA 9040" + strconv.Itoa(1+rng.IntN(5)),
		HomeBranch:      branch,
		CardExpiresOn:   sd.cardExpiry(1+rng.IntN(3), rng.IntN(300)),
		BorrowingStatus: StatusActive,
		FavoritesNotice: "none",
		CreatedAt:       sd.daysAgo(200 + rng.IntN(4000)),
	}
	created, err := sd.createPatron(p, demoOtherPIN)
	if err != nil || !created {
		return err
	}
	for range rng.IntN(4) {
		b := demoPickBook(rng, sd.now.Year())
		out := demoOpenHours(rng, sd.now, 1+rng.IntN(27))
		due := out.AddDate(0, 0, 21)
		loan := &Loan{PatronID: p.ID, Title: b.title, Author: b.author, Format: b.format,
			Barcode: demoItemBarcode(rng), CheckedOutAt: out, DueAt: due, Branch: branch}
		if err := sd.create("loan", loan); err != nil {
			return err
		}
	}
	return nil
}

// demoEmailSafe drops the characters that do not belong in an email address.
func demoEmailSafe(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r != '\'' && r != ' ' {
			out = append(out, r)
		}
	}
	return string(out)
}

// demoItemBarcode is a 14-digit item barcode.
func demoItemBarcode(rng *rand.Rand) string { return fmt.Sprintf("31000%09d", rng.IntN(1_000_000_000)) }

// --- reading history ---

// demoHistory makes n returned loans checked out over the eight years
// before now (but not in the last month), oldest first.
func demoHistory(rng *rand.Rand, patronID int64, now time.Time, n int) []HistoryEntry {
	const newest, oldest = 30, 8 * 365
	rows := make([]HistoryEntry, 0, n)
	for range n {
		daysAgo := newest + rng.IntN(oldest-newest)
		out := demoOpenHours(rng, now, daysAgo)
		b := demoPickBook(rng, out.Year())
		var back time.Time
		if b.format == "eBook" || b.format == "Audiobook" {
			back = out.AddDate(0, 0, 7+rng.IntN(15)) // the lending period ends on its own
		} else {
			back = demoOpenHours(rng, now, daysAgo-2-rng.IntN(27))
		}
		rows = append(rows, HistoryEntry{PatronID: patronID, Title: b.title, Author: b.author,
			Format: b.format, CheckedOutAt: out, ReturnedAt: back})
	}
	slices.SortFunc(rows, func(a, b HistoryEntry) int {
		return cmp.Or(a.ReturnedAt.Compare(b.ReturnedAt), cmp.Compare(a.Title, b.Title))
	})
	return rows
}

// demoPacific is the library's time zone, near enough for demo data.
var demoPacific = time.FixedZone("PST", -8*3600)

// demoOpenHours is a moment during opening hours (10:00 to 20:00 at the
// library) on the day daysAgo days before now, to the second.
func demoOpenHours(rng *rand.Rand, now time.Time, daysAgo int) time.Time {
	y, m, d := now.In(demoPacific).AddDate(0, 0, -daysAgo).Date()
	open := time.Date(y, m, d, 10, 0, 0, 0, demoPacific)
	return open.Add(time.Duration(rng.IntN(10*3600)) * time.Second).UTC()
}

type demoBook struct{ title, author, format string }

// demoPickBook chooses a plausible item: a classic, an invented novel or an
// invented practical book, in a format; a magazine issue is of year.
func demoPickBook(rng *rand.Rand, year int) demoBook {
	format := demoPickWeighted(rng, []string{"Book", "eBook", "Audiobook", "DVD", "Magazine"}, []int{58, 17, 13, 7, 5})
	if format == "Magazine" {
		month := time.Month(1 + rng.IntN(12))
		return demoBook{title: fmt.Sprintf("%s, %s %d", demoPick(rng, demoMagazines), month, year), format: format}
	}
	var b demoBook
	switch r := rng.IntN(100); {
	case r < 25:
		c := demoPick(rng, demoClassics)
		b = demoBook{title: c[0], author: c[1]}
	case r < 75:
		b = demoBook{title: demoNovelTitle(rng), author: demoInventedAuthor(rng)}
	default:
		b = demoBook{title: demoPracticalTitle(rng), author: demoInventedAuthor(rng)}
	}
	b.format = format
	return b
}

func demoPick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func demoPickWeighted(rng *rand.Rand, xs []string, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	r := rng.IntN(total)
	for i, w := range weights {
		if r < w {
			return xs[i]
		}
		r -= w
	}
	return xs[len(xs)-1]
}

func demoNovelTitle(rng *rand.Rand) string {
	switch rng.IntN(7) {
	case 0:
		return "The " + demoPick(rng, demoAdjectives) + " " + demoPick(rng, demoNouns)
	case 1:
		return "The " + demoPick(rng, demoNouns) + " of " + demoPick(rng, demoPlaces)
	case 2:
		return "The " + demoPick(rng, demoPersons) + "'s " + demoPick(rng, demoBelongings)
	case 3:
		return demoPick(rng, demoGerunds) + " the " + demoPick(rng, demoNouns)
	case 4:
		return "A " + demoPick(rng, demoNouns) + " in " + demoPick(rng, demoSeasons)
	case 5:
		return demoPick(rng, demoAdjectives) + " " + demoPick(rng, demoPlurals)
	default:
		return "The Last " + demoPick(rng, demoPersons) + " of " + demoPick(rng, demoPlaces)
	}
}

func demoPracticalTitle(rng *rand.Rand) string {
	topic := demoPick(rng, demoTopics)
	switch rng.IntN(6) {
	case 0:
		return topic + ": A Beginner's Guide"
	case 1:
		return "The Complete Book of " + topic
	case 2:
		return topic + " Made Simple"
	case 3:
		return "Everyday " + topic
	case 4:
		return topic + " for Everyone"
	default:
		return "The Joy of " + topic
	}
}

func demoInventedAuthor(rng *rand.Rand) string {
	given := demoPick(rng, demoGivenNames)
	if rng.IntN(4) == 0 {
		given += " " + string(rune('A'+rng.IntN(26))) + "." // #nosec G115 -- demo data: IntN(26) is 0 to 25
	}
	return demoPick(rng, demoFamilyNames) + ", " + given
}

var (
	demoAdjectives = []string{"Silent", "Hidden", "Last", "Forgotten", "Burning", "Quiet", "Golden", "Distant",
		"Secret", "Wandering", "Broken", "Midnight", "Invisible", "Salt", "Paper", "Glass", "Winter",
		"Long", "Lost", "Bright", "Drowned", "Borrowed", "Painted", "Second"}
	demoNouns = []string{"Garden", "River", "Orchard", "Archive", "Lighthouse", "Harbor", "Library", "Country",
		"Kingdom", "Station", "House", "Island", "Mountain", "Letter", "Map", "Season", "Bridge",
		"Mirror", "Compass", "Tide", "Atlas", "Pier", "Canyon", "Sky"}
	demoPlurals = []string{"Hours", "Tides", "Letters", "Bridges", "Orchards", "Rivers", "Mirrors",
		"Stars", "Islands", "Harbors", "Daughters", "Summers"}
	demoPersons = []string{"Cartographer", "Beekeeper", "Astronomer", "Translator", "Clockmaker", "Gardener",
		"Librarian", "Ferryman", "Botanist", "Watchmaker", "Lighthouse Keeper", "Bookseller"}
	demoBelongings = []string{"Daughter", "Apprentice", "Secret", "Promise", "Wife", "Son", "Notebook",
		"Journey", "Lament", "Garden", "Last Letter", "Houseguest"}
	demoPlaces = []string{"Santa Monica", "the Pacific", "Kyoto", "Lisbon", "the High Desert", "Marrakesh",
		"the North Shore", "Avalon", "Tangier", "Mendocino", "Valparaíso", "the Salt Flats"}
	demoGerunds = []string{"Chasing", "Finding", "Leaving", "Remembering", "Crossing", "Mapping", "Keeping",
		"Reading", "Counting", "Mending"}
	demoSeasons = []string{"Summer", "Autumn", "Winter", "Spring", "August", "the Rain", "the Dry Season"}
	demoTopics  = []string{"Container Gardening", "Sourdough Baking", "Personal Finance", "Birdwatching",
		"Home Repair", "Watercolor Painting", "Drought-Tolerant Plants", "Japanese Home Cooking",
		"Mindfulness", "Genealogy", "Knitting", "Python Programming", "Coastal Hiking",
		"Backyard Astronomy", "Small-Space Living", "Beekeeping", "Bicycle Maintenance", "Spanish Conversation"}
	demoGivenNames = []string{"Maya", "Daniel", "Priya", "Tomás", "Hannah", "Kwame", "Sofia", "Liam", "Aiko",
		"Rafael", "Nadia", "Owen", "Leila", "Mateo", "Chloé", "Samuel", "Ines", "Jonah", "Mei", "Elena",
		"Arjun", "Ruth", "Felix", "Zainab", "Marcus", "Astrid", "Julian", "Noor", "Camille", "Theo"}
	demoFamilyNames = []string{"Alvarez", "Brennan", "Castellanos", "Nguyễn", "Okonkwo", "Haddad", "Lindqvist",
		"Moreau", "Tanaka", "Kowalski", "Singh", "O'Brien", "Petrović", "Müller", "Achterberg", "Rossi",
		"Fitzgerald", "Mensah", "Sato", "Delgado", "Whitfield", "Ibarra", "Novak", "Rahman", "Caldwell",
		"Ferreira", "Yilmaz", "Hale", "Lund", "Abara"}
	demoMagazines = []string{"The New Yorker", "National Geographic", "Sunset", "Consumer Reports",
		"Scientific American", "The Atlantic", "Bon Appétit", "Smithsonian", "Los Angeles Magazine",
		"Popular Science"}
	demoClassics = [][2]string{
		{"Pride and Prejudice", "Austen, Jane"},
		{"Emma", "Austen, Jane"},
		{"Persuasion", "Austen, Jane"},
		{"Jane Eyre", "Brontë, Charlotte"},
		{"Wuthering Heights", "Brontë, Emily"},
		{"Middlemarch", "Eliot, George"},
		{"Moby-Dick", "Melville, Herman"},
		{"The Great Gatsby", "Fitzgerald, F. Scott"},
		{"To Kill a Mockingbird", "Lee, Harper"},
		{"One Hundred Years of Solitude", "García Márquez, Gabriel"},
		{"Love in the Time of Cholera", "García Márquez, Gabriel"},
		{"Chronicle of a Death Foretold", "García Márquez, Gabriel"},
		{"Kindred", "Butler, Octavia E."},
		{"Parable of the Sower", "Butler, Octavia E."},
		{"Parable of the Talents", "Butler, Octavia E."},
		{"Dawn", "Butler, Octavia E."},
		{"Wild Seed", "Butler, Octavia E."},
		{"The Left Hand of Darkness", "Le Guin, Ursula K."},
		{"The Dispossessed", "Le Guin, Ursula K."},
		{"A Wizard of Earthsea", "Le Guin, Ursula K."},
		{"The Tombs of Atuan", "Le Guin, Ursula K."},
		{"Beloved", "Morrison, Toni"},
		{"Song of Solomon", "Morrison, Toni"},
		{"Their Eyes Were Watching God", "Hurston, Zora Neale"},
		{"Invisible Man", "Ellison, Ralph"},
		{"The Grapes of Wrath", "Steinbeck, John"},
		{"East of Eden", "Steinbeck, John"},
		{"Mrs. Dalloway", "Woolf, Virginia"},
		{"To the Lighthouse", "Woolf, Virginia"},
		{"Frankenstein", "Shelley, Mary Wollstonecraft"},
		{"Dracula", "Stoker, Bram"},
		{"Crime and Punishment", "Dostoyevsky, Fyodor"},
		{"Anna Karenina", "Tolstoy, Leo"},
		{"War and Peace", "Tolstoy, Leo"},
		{"Don Quixote", "Cervantes Saavedra, Miguel de"},
		{"Great Expectations", "Dickens, Charles"},
		{"Bleak House", "Dickens, Charles"},
		{"The Count of Monte Cristo", "Dumas, Alexandre"},
		{"Les Misérables", "Hugo, Victor"},
		{"Madame Bovary", "Flaubert, Gustave"},
		{"Nineteen Eighty-Four", "Orwell, George"},
		{"Brave New World", "Huxley, Aldous"},
		{"Fahrenheit 451", "Bradbury, Ray"},
		{"The Martian Chronicles", "Bradbury, Ray"},
		{"Things Fall Apart", "Achebe, Chinua"},
		{"The Remains of the Day", "Ishiguro, Kazuo"},
		{"Never Let Me Go", "Ishiguro, Kazuo"},
		{"Rebecca", "Du Maurier, Daphne"},
		{"The Handmaid's Tale", "Atwood, Margaret"},
		{"Slaughterhouse-Five", "Vonnegut, Kurt"},
		{"Catch-22", "Heller, Joseph"},
		{"Little Women", "Alcott, Louisa May"},
		{"The Age of Innocence", "Wharton, Edith"},
		{"The Sound and the Fury", "Faulkner, William"},
		{"The Old Man and the Sea", "Hemingway, Ernest"},
		{"The Hobbit", "Tolkien, J. R. R."},
		{"Dune", "Herbert, Frank"},
		{"Foundation", "Asimov, Isaac"},
		{"The Bell Jar", "Plath, Sylvia"},
		{"Go Tell It on the Mountain", "Baldwin, James"},
		{"Giovanni's Room", "Baldwin, James"},
		{"The House of the Spirits", "Allende, Isabel"},
		{"Pedro Páramo", "Rulfo, Juan"},
		{"The Joy Luck Club", "Tan, Amy"},
		{"Ficciones", "Borges, Jorge Luis"},
		{"The Color Purple", "Walker, Alice"},
		{"The Picture of Dorian Gray", "Wilde, Oscar"},
		{"Heart of Darkness", "Conrad, Joseph"},
		{"The Stranger", "Camus, Albert"},
		{"Kafka on the Shore", "Murakami, Haruki"},
	}
)
