package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Audit actions. An entry names who did what to whom, never the data.
const (
	AuditStaffSignIn   = "staff.sign_in"
	AuditPatronLookup  = "patron.lookup"
	AuditAssistStart   = "assist.start"
	AuditAssistEnd     = "assist.end"
	AuditAssistAction  = "assist.action"
	AuditListExport    = "list.export"
	AuditPurgeRun      = "purge.run"
	AuditConfigChanged = "config.change"
	AuditVerify        = "audit.verify"
	// AuditExport is a privacy officer's download of the audit log (or of
	// the entries a filter chose) as CSV.
	AuditExport = "audit.export"
	// AuditDeskPrint is a printout of a patron's record that staff made
	// at the patron's request; its detail names the sections.
	AuditDeskPrint = "patron.print"
)

// auditLabels names every action the code writes, in words a privacy
// officer reads, in the order the audit page's filter lists them.
// TestEveryAuditActionHasALabel fails for an Audit… constant missing here.
var auditLabels = []struct{ action, label string }{
	{AuditStaffSignIn, "Staff signed in"},
	{AuditStaffSignInRefused, "Staff sign-in refused"},
	{AuditSecondFactor, "Staff second factor enrolled, reset or recovery code used"},
	{AuditPatronLookup, "Patron record looked up"},
	{AuditAssistStart, "Assistance started"},
	{AuditAssistAction, "Change made while assisting"},
	{AuditAssistEnd, "Assistance ended"},
	{AuditDeskPrint, "Record printed at the desk"},
	{AuditListExport, "Mailing list exported"},
	{AuditArrivals, "New arrivals added"},
	{AuditILSImportDelete, "Records deleted by a full import"},
	{AuditPurgeRun, "Retention purge ran"},
	{AuditConfigChanged, "Settings changed"},
	{AuditVerify, "Audit log verified"},
	{AuditExport, "Audit log exported"},
	{AuditLegalRequest, "Legal request recorded"},
	{AuditLegalReview, "Legal review recorded"},
	{AuditLegalApprove, "Legal production approved"},
	{AuditLegalProduce, "Records produced for a legal request"},
	{AuditLegalHold, "Legal hold placed"},
	{AuditLegalRelease, "Legal hold released"},
	{AuditLegalNondisclosureLift, "Nondisclosure order lifted"},
	{AuditLegalNondisclosureEnded, "Nondisclosure order ended"},
}

// AuditActionLabel is an action in words, for the privacy officer's page
// and the audit log's CSV export. An action no label names (one an older
// version wrote) is shown as it is stored.
func AuditActionLabel(action string) string {
	for _, l := range auditLabels {
		if l.action == action {
			return l.label
		}
	}
	return action
}

// auditQuery selects the audit entries f chooses, as AuditRecords.
func auditQuery(db *gorm.DB, f AuditFilter) *gorm.DB {
	q := db.Table("audit_entries").
		Select("audit_entries.id, audit_entries.created_at, COALESCE(staff.display_name, '') AS staff_name, " +
			"COALESCE(staff.username, '') AS username, COALESCE(patrons.card_number, '') AS patron_card, " +
			"audit_entries.action, audit_entries.reason, audit_entries.detail, audit_entries.restricted").
		Joins("LEFT JOIN staff ON staff.id = audit_entries.staff_id").
		Joins("LEFT JOIN patrons ON patrons.id = audit_entries.patron_id")
	if f.Action != "" {
		q = q.Where("audit_entries.action = ?", f.Action)
	}
	if f.Staff != "" {
		q = q.Where("staff.username = ?", strings.ToLower(f.Staff))
	}
	if f.PatronCard != "" {
		q = q.Where("patrons.card_number = ?", NormalizeCard(f.PatronCard))
	}
	if f.From != nil {
		q = q.Where("audit_entries.created_at >= ?", f.From.UTC())
	}
	if f.To != nil {
		q = q.Where("audit_entries.created_at < ?", f.To.UTC())
	}
	return q
}

// ExportAuditLog hands fn every audit entry f chooses, newest first, and
// records in the same transaction that the privacy officer staffID
// exported them, how many, and with which filters. When the filter names
// a patron's card, the entry names that patron, as every look at their
// records does.
func (s *Store) ExportAuditLog(ctx context.Context, staffID int64, f AuditFilter, fn func(AuditRecord) error) (int, error) {
	n := 0
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		rows, err := auditQuery(tx, f).Order("audit_entries.created_at DESC, audit_entries.id DESC").Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r AuditRecord
			if err := tx.ScanRows(rows, &r); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_ = rows.Close()
		e := AuditEntry{StaffID: &staffID, Action: AuditExport, Detail: auditExportDetail(n, f)}
		if f.PatronCard != "" {
			var p Patron
			if err := tx.Where("card_number = ?", NormalizeCard(f.PatronCard)).Limit(1).Find(&p).Error; err != nil {
				return err
			}
			if p.ID != 0 {
				e.PatronID = &p.ID
			}
		}
		return s.AppendAudit(tx, &e)
	})
	if err != nil {
		return 0, fmt.Errorf("models: export audit log: %w", err)
	}
	return n, nil
}

// auditExportDetail says how many entries an export held and which
// filters chose them; a patron's card is named by the entry's patron,
// never copied into its text.
func auditExportDetail(n int, f AuditFilter) string {
	var fs []string
	if f.Action != "" {
		fs = append(fs, "action "+AuditActionLabel(f.Action))
	}
	if f.Staff != "" {
		fs = append(fs, "staff "+strings.ToLower(f.Staff))
	}
	if f.PatronCard != "" {
		fs = append(fs, "one patron's card")
	}
	if f.From != nil {
		fs = append(fs, "from "+f.From.Format("2006-01-02"))
	}
	if f.To != nil {
		fs = append(fs, "before "+f.To.Format("2006-01-02"))
	}
	word := "entries"
	if n == 1 {
		word = "entry"
	}
	d := fmt.Sprintf("%d %s exported", n, word)
	if len(fs) == 0 {
		return d + ", unfiltered"
	}
	return d + "; filters: " + strings.Join(fs, ", ")
}

// AuditEntriesSince counts the audit entries written after the
// verification c, which it could not check (the entry recording c aside).
// A result kept before verifications noted their last entry counts by
// time.
func (s *Store) AuditEntriesSince(ctx context.Context, c AuditCheck) (int64, error) {
	q := s.db(ctx).Model(&AuditEntry{})
	if c.LastID != 0 {
		q = q.Where("id > ? AND id <> ?", c.LastID, c.RecordID)
	} else {
		q = q.Where("created_at > ? AND id <> ?", c.At.UTC(), c.RecordID)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("models: audit entries since: %w", err)
	}
	return n, nil
}

// auditGenesis is the previous hash of the first entry.
const auditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// The purposes of the subkeys the audit log uses. They are derived from
// the server's secret keys, which never enter the database, so whoever can
// only write to the database can neither re-chain an edited entry nor sign
// a checkpoint.
const (
	auditChainPurpose      = "audit-chain"
	auditCheckpointPurpose = "audit-checkpoint"
	auditAnchorPurpose     = "audit-anchor"
	auditCheckPurpose      = "audit-last-check"
)

// AppendAudit adds an entry to the audit log inside tx, so that it commits
// or rolls back with the change it records. Entries are chained: each
// stores the chain value of the one before, and its own chain value is an
// HMAC of all its fields under a subkey of the current server key, whose id
// the entry keeps (so entries made before a key rotation still verify while
// the old key stays configured). An edited, inserted or deleted row breaks
// the chain, and without the server key nobody can mend it. Appends are
// serialised (an advisory lock on PostgreSQL; SQLite has a single writer)
// so the chain never forks.
func (s *Store) AppendAudit(tx *gorm.DB, e *AuditEntry) error {
	if _, inTx := tx.Statement.ConnPool.(gorm.TxCommitter); !inTx {
		return errors.New("models: AppendAudit needs a transaction, so its lock lasts until the commit")
	}
	if DialectOfDB(tx) == Postgres {
		if err := tx.Exec(fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", lockAudit)).Error; err != nil {
			return fmt.Errorf("models: audit lock: %w", err)
		}
	}
	var prev AuditEntry
	if err := tx.Order("id DESC").Limit(1).Find(&prev).Error; err != nil {
		return fmt.Errorf("models: audit tail: %w", err)
	}
	e.PrevHash = auditGenesis
	if prev.ID != 0 {
		e.PrevHash = prev.Hash
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = tx.NowFunc()
	}
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond)
	e.KeyID = s.Keys.currentID()
	sum, _ := s.Keys.macWith(e.KeyID, auditChainPurpose, auditText(*e))
	e.Hash = hex.EncodeToString(sum)
	if err := tx.Create(e).Error; err != nil {
		return fmt.Errorf("models: append audit: %w", err)
	}
	return nil
}

// auditText is what an entry's chain value covers: every field except its
// ID and its own chain value, each length-prefixed so no two different
// entries give the same text.
func auditText(e AuditEntry) string {
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	fields := []string{
		e.PrevHash,
		e.CreatedAt.UTC().Format(time.RFC3339Nano),
		opt(e.StaffID), opt(e.PatronID),
		e.Action, e.Reason, e.Detail, strconv.FormatBool(e.Restricted),
	}
	if e.KeyID != "" {
		fields = append(fields, e.KeyID)
	}
	var b strings.Builder
	for _, f := range fields {
		fmt.Fprintf(&b, "%d:%s;", len(f), f)
	}
	return b.String()
}

// auditHash is the unkeyed chain value of an entry written before the
// chain was keyed (one with no key id): plain SHA-256.
func auditHash(e AuditEntry) string {
	sum := sha256.Sum256([]byte(auditText(e)))
	return hex.EncodeToString(sum[:])
}

// chainValid says whether e's chain value is right for its fields. An
// entry with a key id needs that key configured.
func (s *Store) chainValid(e AuditEntry) (ok bool, problem string) {
	if e.KeyID == "" {
		return auditHash(e) == e.Hash, "it was changed"
	}
	sum, known := s.Keys.macWith(e.KeyID, auditChainPurpose, auditText(e))
	if !known {
		return false, "it is signed with key " + e.KeyID + ", which is not configured (CARREL_SECRET_KEYS)"
	}
	got, err := hex.DecodeString(e.Hash)
	return err == nil && hmac.Equal(sum, got), "it was changed"
}

// AuditCheck is the result of one verification of the audit log.
type AuditCheck struct {
	At time.Time `json:"at"`
	// By says what ran it: the command line, the daily purge, or the
	// username of the privacy officer who pressed the button.
	By      string `json:"by"`
	Checked int    `json:"checked"`
	// Legacy counts the entries written before the chain was keyed.
	Legacy int `json:"legacy,omitempty"`
	// CheckpointID is the entry of the checkpoint checked against, if any.
	CheckpointID int64 `json:"checkpoint_id,omitempty"`
	// BrokenID is the first entry that fails (0 when the fault is not one
	// entry, such as deleted newest entries), and Problem says why.
	BrokenID int64  `json:"broken_id,omitempty"`
	Problem  string `json:"problem,omitempty"`
	// LastID is the newest entry checked, and RecordID the entry that
	// records this verification (one a privacy officer asked for), so the
	// audit page can say how many entries came after it.
	LastID   int64 `json:"last_id,omitempty"`
	RecordID int64 `json:"record_id,omitempty"`
}

// Intact says whether the verification found nothing wrong.
func (c AuditCheck) Intact() bool { return c.Problem == "" }

// Summary is the result in one sentence, for the command line, the logs
// and the privacy officer's page. It names entries by ID, never by content.
func (c AuditCheck) Summary() string {
	cp := ""
	if c.CheckpointID != 0 {
		cp = fmt.Sprintf(", and matches the checkpoint at entry %d", c.CheckpointID)
	}
	if c.Intact() {
		s := fmt.Sprintf("Audit log intact: %d entries checked%s.", c.Checked, cp)
		if c.Legacy > 0 {
			s += fmt.Sprintf(" %d of them were written before the chain was keyed, and are chained with SHA-256 only.", c.Legacy)
		}
		return s
	}
	if c.BrokenID != 0 {
		return fmt.Sprintf("Audit log broken at entry %d: %s.", c.BrokenID, c.Problem)
	}
	return "Audit verification failed: " + c.Problem + "."
}

// ErrCheckpointForged says a checkpoint's signature does not verify under
// any configured key.
var ErrCheckpointForged = errors.New("the checkpoint's signature does not verify: it was changed, or made with a key that is not configured")

// VerifyAudit walks the audit log in order and reports the first entry
// whose chain is broken. With a checkpoint (whose signature must verify),
// it also fails when the entry the checkpoint names is gone or differs,
// which is how deleting the newest entries shows. by names who asked; the
// result is kept (see LastAuditCheck).
//
// After retention has deleted the oldest entries, the chain starts from
// the anchor the purge recorded and signed: the first remaining entry must
// be the one it names, and follow the chain value it names. An anchor that
// is not signed, or whose signature fails, fails the verification, so
// whoever can write to the database cannot trim the log's start and move
// the anchor to fit.
//
// Entries written before the chain was keyed have no key id and keep
// their SHA-256 chain values, so an upgrade needs no rewrite of the log,
// which no one can prove was intact at that moment. Once a keyed entry
// exists, an unkeyed entry after it breaks the chain. An attacker could
// still rewrite a whole log as unkeyed entries; a checkpoint kept outside
// the database catches that, because its chain value is keyed.
func (s *Store) VerifyAudit(ctx context.Context, cp *AuditCheckpoint, by string) (AuditCheck, error) {
	res := AuditCheck{At: s.Now().UTC(), By: by}
	if cp != nil {
		res.CheckpointID = cp.EntryID
		if !s.checkpointValid(*cp) {
			// Kept like any other result: the officer's page shows it.
			res.Problem = ErrCheckpointForged.Error()
			if err := s.saveAuditCheck(ctx, res); err != nil {
				return res, err
			}
			return res, ErrCheckpointForged
		}
	}
	db := s.db(ctx)
	prev := auditGenesis
	var stored Setting
	if err := db.Where("name = ?", auditAnchorSetting).Limit(1).Find(&stored).Error; err != nil {
		return res, fmt.Errorf("models: verify audit: %w", err)
	}
	var anchor *AuditAnchor
	if stored.Value != "" {
		a, problem := s.anchorValid(stored.Value, res.At)
		if problem != "" {
			res.Problem = problem
			if err := s.saveAuditCheck(ctx, res); err != nil {
				return res, err
			}
			return res, nil
		}
		anchor, prev = &a, a.Chain
	}
	var first int64
	keyed, cpFound := false, false
	broken := func(id int64, problem string) {
		if res.Problem == "" {
			res.BrokenID, res.Problem = id, problem
		}
	}
	var batch []AuditEntry
	err := db.Order("id").FindInBatches(&batch, 1000, func(tx *gorm.DB, _ int) error {
		for _, e := range batch {
			if res.Problem != "" {
				return nil
			}
			if first == 0 {
				first = e.ID
				if anchor != nil && e.ID != anchor.EntryID {
					broken(e.ID, fmt.Sprintf("the log should start at entry %d, where the last purge left it: entries were deleted from its start", anchor.EntryID))
					return nil
				}
			}
			res.Checked++
			res.LastID = e.ID
			if cp != nil && !cpFound && e.ID > cp.EntryID && cp.EntryID >= first {
				broken(e.ID, fmt.Sprintf("entry %d, which the checkpoint names, was deleted", cp.EntryID))
				return nil
			}
			if e.PrevHash != prev {
				broken(e.ID, "it does not follow the entry before it: that entry was changed or entries were deleted")
				return nil
			}
			if e.KeyID == "" {
				if keyed {
					broken(e.ID, "it is not keyed, yet follows a keyed entry")
					return nil
				}
				res.Legacy++
			} else {
				keyed = true
			}
			if ok, problem := s.chainValid(e); !ok {
				broken(e.ID, problem)
				return nil
			}
			if cp != nil && e.ID == cp.EntryID {
				cpFound = true
				if e.Hash != cp.Hash {
					broken(e.ID, "it differs from the checkpoint")
					return nil
				}
			}
			prev = e.Hash
		}
		return nil
	}).Error
	if err != nil {
		return res, fmt.Errorf("models: verify audit: %w", err)
	}
	if anchor != nil && first == 0 {
		broken(0, fmt.Sprintf("the log is empty, yet the last purge left it starting at entry %d: entries were deleted", anchor.EntryID))
	}
	if cp != nil && res.Problem == "" && !cpFound {
		if first != 0 && cp.EntryID < first {
			broken(0, fmt.Sprintf("entry %d, which the checkpoint names, is gone: retention deletes the oldest entries, "+
				"so the checkpoint can prove nothing now; keep a newer one", cp.EntryID))
		} else {
			broken(0, fmt.Sprintf("entry %d, which the checkpoint names, is missing: the newest entries were deleted", cp.EntryID))
		}
	}
	if err := s.saveAuditCheck(ctx, res); err != nil {
		return res, err
	}
	return res, nil
}

const auditCheckSetting = "audit.last_check"

// ErrAuditCheckUntrusted says the stored result of the last verification
// is not signed under a configured key: someone may have planted it.
var ErrAuditCheckUntrusted = errors.New("models: the stored result of the last audit verification could not be trusted")

// signedAuditCheck is how a verification's result is stored: the result
// as JSON, with a MAC under a subkey of the server keys, so that whoever
// can write to the database cannot plant an "intact".
type signedAuditCheck struct {
	Check string `json:"check"`
	KeyID string `json:"key"`
	Sig   string `json:"sig"`
}

// saveAuditCheck keeps a verification's result, signed, so the privacy
// officer's page shows when the log was last checked and what was found.
func (s *Store) saveAuditCheck(ctx context.Context, c AuditCheck) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("models: save audit check: %w", err)
	}
	sc := signedAuditCheck{Check: string(b), KeyID: s.Keys.currentID()}
	sig, _ := s.Keys.macWith(sc.KeyID, auditCheckPurpose, sc.Check)
	sc.Sig = hex.EncodeToString(sig)
	if b, err = json.Marshal(sc); err != nil {
		return fmt.Errorf("models: save audit check: %w", err)
	}
	err = s.db(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"})}).
		Create(&Setting{Name: auditCheckSetting, Value: string(b), UpdatedAt: s.Now()}).Error
	if err != nil {
		return fmt.Errorf("models: save audit check: %w", err)
	}
	return nil
}

// LastAuditCheck is the result of the latest verification of the audit
// log, and false when none has run. A stored result whose signature does
// not verify gives ErrAuditCheckUntrusted (and true: something is stored).
func (s *Store) LastAuditCheck(ctx context.Context) (AuditCheck, bool, error) {
	var st Setting
	if err := s.db(ctx).Where("name = ?", auditCheckSetting).Limit(1).Find(&st).Error; err != nil {
		return AuditCheck{}, false, fmt.Errorf("models: last audit check: %w", err)
	}
	if st.Value == "" {
		return AuditCheck{}, false, nil
	}
	var sc signedAuditCheck
	if err := json.Unmarshal([]byte(st.Value), &sc); err != nil {
		return AuditCheck{}, true, ErrAuditCheckUntrusted
	}
	want, known := s.Keys.macWith(sc.KeyID, auditCheckPurpose, sc.Check)
	got, err := hex.DecodeString(sc.Sig)
	if !known || err != nil || !hmac.Equal(want, got) {
		return AuditCheck{}, true, ErrAuditCheckUntrusted
	}
	var c AuditCheck
	if err := json.Unmarshal([]byte(sc.Check), &c); err != nil {
		return AuditCheck{}, true, ErrAuditCheckUntrusted
	}
	return c, true, nil
}

// VerifyAuditAsStaff runs a verification a privacy officer asked for, and
// records in the audit log that they did and what it found.
func (s *Store) VerifyAuditAsStaff(ctx context.Context, staffID int64, username string) (AuditCheck, error) {
	res, err := s.VerifyAudit(ctx, nil, username)
	if err != nil {
		return res, err
	}
	e := AuditEntry{StaffID: &staffID, Action: AuditVerify, Detail: res.Summary()}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error { return s.AppendAudit(tx, &e) })
	if err != nil {
		return res, err
	}
	// Kept again with the entry that records it, which is not one the
	// page should count as written since.
	res.RecordID = e.ID
	return res, s.saveAuditCheck(ctx, res)
}

// AuditCheckpoint is a signed statement of the audit log's newest entry:
// its ID and chain value, and when the statement was made. Kept outside
// the database, it lets a later verification notice entries deleted from
// the end of the log, which the chain alone cannot show.
type AuditCheckpoint struct {
	EntryID int64
	Hash    string
	At      time.Time
	KeyID   string
	Sig     string
}

const checkpointPrefix = "carrel-audit-checkpoint v1"

// String is the checkpoint as one line of text, to print, log and keep.
// It holds no personal data.
func (cp AuditCheckpoint) String() string {
	return fmt.Sprintf("%s entry=%d chain=%s at=%s key=%s sig=%s",
		checkpointPrefix, cp.EntryID, cp.Hash, cp.At.UTC().Format(time.RFC3339), cp.KeyID, cp.Sig)
}

func (cp AuditCheckpoint) signedText() string {
	return fmt.Sprintf("%s|%d|%s|%s|%s", checkpointPrefix, cp.EntryID, cp.Hash, cp.At.UTC().Format(time.RFC3339), cp.KeyID)
}

// ParseAuditCheckpoint reads a checkpoint from text, such as a file
// holding one line that String wrote, or a line of the portal's logs (the
// last such line counts, so a file may keep a history). It does not check the signature; VerifyAudit
// does.
func ParseAuditCheckpoint(text string) (AuditCheckpoint, error) {
	var line string
	for l := range strings.Lines(text) {
		if i := strings.Index(l, checkpointPrefix+" "); i >= 0 {
			line = strings.TrimSpace(l[i+len(checkpointPrefix):])
		}
	}
	if line == "" {
		return AuditCheckpoint{}, errors.New("no checkpoint found (a line starting " + checkpointPrefix + ")")
	}
	var cp AuditCheckpoint
	fields := map[string]string{}
	// A line copied from the logs keeps its quotes.
	for f := range strings.FieldsSeq(strings.NewReplacer(`"`, " ", "'", " ").Replace(line)) {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	id, err := strconv.ParseInt(fields["entry"], 10, 64)
	if err != nil || id <= 0 {
		return cp, errors.New("the checkpoint's entry is not a number")
	}
	at, err := time.Parse(time.RFC3339, fields["at"])
	if err != nil {
		return cp, errors.New("the checkpoint's time is not a time")
	}
	cp = AuditCheckpoint{EntryID: id, Hash: fields["chain"], At: at, KeyID: fields["key"], Sig: fields["sig"]}
	if cp.Hash == "" || cp.KeyID == "" || cp.Sig == "" {
		return cp, errors.New("the checkpoint lacks its chain value, key or signature")
	}
	return cp, nil
}

// Checkpoint signs a statement of the audit log's newest entry under the
// current server key.
func (s *Store) Checkpoint(ctx context.Context) (AuditCheckpoint, error) {
	var last AuditEntry
	if err := s.db(ctx).Order("id DESC").Limit(1).Find(&last).Error; err != nil {
		return AuditCheckpoint{}, fmt.Errorf("models: audit checkpoint: %w", err)
	}
	if last.ID == 0 {
		return AuditCheckpoint{}, errors.New("models: audit checkpoint: the audit log is empty")
	}
	cp := AuditCheckpoint{EntryID: last.ID, Hash: last.Hash, At: s.Now().UTC().Truncate(time.Second), KeyID: s.Keys.currentID()}
	sig, _ := s.Keys.macWith(cp.KeyID, auditCheckpointPurpose, cp.signedText())
	cp.Sig = hex.EncodeToString(sig)
	return cp, nil
}

// checkpointValid says whether a checkpoint's signature verifies under the
// key it names.
func (s *Store) checkpointValid(cp AuditCheckpoint) bool {
	want, ok := s.Keys.macWith(cp.KeyID, auditCheckpointPurpose, cp.signedText())
	got, err := hex.DecodeString(cp.Sig)
	return ok && err == nil && hmac.Equal(want, got)
}

// AuditAnchor is where the retention purge left the audit log starting:
// the first entry it kept, the chain value that entry follows, the cutoff
// the purge deleted entries before, and when it ran, signed under a subkey
// of the server keys. It is stored in the settings table (audit.anchor)
// and repeated in the purge's own audit entry.
type AuditAnchor struct {
	EntryID int64
	Chain   string
	Cutoff  time.Time
	At      time.Time
	KeyID   string
	Sig     string
}

const anchorPrefix = "carrel-audit-anchor v1"

// String is the anchor as one line of text, as stored.
func (a AuditAnchor) String() string {
	return fmt.Sprintf("%s entry=%d chain=%s cutoff=%s at=%s key=%s sig=%s", anchorPrefix, a.EntryID, a.Chain,
		a.Cutoff.UTC().Format(time.RFC3339), a.At.UTC().Format(time.RFC3339), a.KeyID, a.Sig)
}

func (a AuditAnchor) signedText() string {
	return fmt.Sprintf("%s|%d|%s|%s|%s|%s", anchorPrefix, a.EntryID, a.Chain,
		a.Cutoff.UTC().Format(time.RFC3339), a.At.UTC().Format(time.RFC3339), a.KeyID)
}

// signAnchor signs an anchor under the current server key.
func (s *Store) signAnchor(entryID int64, chain string, cutoff time.Time) AuditAnchor {
	a := AuditAnchor{EntryID: entryID, Chain: chain, Cutoff: cutoff.UTC().Truncate(time.Second),
		At: s.Now().UTC().Truncate(time.Second), KeyID: s.Keys.currentID()}
	sig, _ := s.Keys.macWith(a.KeyID, auditAnchorPurpose, a.signedText())
	a.Sig = hex.EncodeToString(sig)
	return a
}

// anchorValid reads a stored anchor and says what is wrong with it, if
// anything: not signed (planted, or written before anchors were signed),
// a signature that fails, or a cutoff younger than the shortest audit
// period before the purge ran, or a purge in the future. now is the time
// of the verification.
func (s *Store) anchorValid(text string, now time.Time) (AuditAnchor, string) {
	const where = "the audit log's anchor (the audit.anchor setting, where the last purge left the log starting) "
	if !strings.HasPrefix(text, anchorPrefix+" ") {
		return AuditAnchor{}, where + "is not signed: it was planted, or written before anchors were signed, " +
			"so nothing proves that only entries past their retention were deleted"
	}
	f := map[string]string{}
	for kv := range strings.FieldsSeq(text[len(anchorPrefix):]) {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	id, errID := strconv.ParseInt(f["entry"], 10, 64)
	cutoff, errCut := time.Parse(time.RFC3339, f["cutoff"])
	at, errAt := time.Parse(time.RFC3339, f["at"])
	a := AuditAnchor{EntryID: id, Chain: f["chain"], Cutoff: cutoff, At: at, KeyID: f["key"], Sig: f["sig"]}
	want, known := s.Keys.macWith(a.KeyID, auditAnchorPurpose, a.signedText())
	got, errSig := hex.DecodeString(a.Sig)
	if errID != nil || errCut != nil || errAt != nil || !known || errSig != nil || !hmac.Equal(want, got) {
		return a, where + "has a signature that does not verify: it was changed, or signed with a key that is not configured"
	}
	if a.Cutoff.After(a.At.AddDate(-AuditYearsMin, 0, 0)) || a.At.After(now) {
		return a, where + fmt.Sprintf("says the purge deleted entries younger than %d year, the shortest audit period", AuditYearsMin)
	}
	return a, ""
}
