package models

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// LegalPackage is one production as sent: a zip of one JSON part per
// covered patron and a manifest.
type LegalPackage struct {
	Production LegalProduction
	Name       string // the file name to send it as
	Zip        []byte
}

// LegalManifest is manifest.json: what the package is, for which request,
// its scope, who produced and approved it, and each part's SHA-256.
type LegalManifest struct {
	Schema      string              `json:"schema"`
	Library     string              `json:"library"`
	Request     LegalManifestReq    `json:"request"`
	Scope       LegalManifestScope  `json:"scope"`
	ProducedAt  time.Time           `json:"produced_at"`
	ProducedBy  string              `json:"produced_by"`
	ApprovedBy  string              `json:"approved_by"`
	ApprovedAt  *time.Time          `json:"approved_at"`
	Review      LegalManifestReview `json:"legal_review"`
	Parts       []LegalManifestPart `json:"parts"`
	RecordsNote string              `json:"note"`
}

// LegalManifestReq names the request a production answers.
type LegalManifestReq struct {
	ID            int64  `json:"id"`
	Kind          string `json:"kind"`
	Court         string `json:"court"`
	Reference     string `json:"reference"`
	ReceivedOn    string `json:"received_on"`
	OfficerName   string `json:"officer_name"`
	OfficerAgency string `json:"officer_agency"`
}

// LegalManifestScope is what the order names: categories and dates, both
// ends included, as days in the library's time zone.
type LegalManifestScope struct {
	Categories []string `json:"categories"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	TimeZone   string   `json:"time_zone"`
}

// LegalManifestReview is the legal review the production followed.
type LegalManifestReview struct {
	Reviewer   string `json:"reviewer"`
	ReviewedOn string `json:"reviewed_on"`
	Outcome    string `json:"outcome"`
}

// LegalManifestPart is one file of the package.
type LegalManifestPart struct {
	Name       string `json:"name"`
	CardNumber string `json:"card_number"`
	Size       int    `json:"size"`
	SHA256     string `json:"sha256"`
}

// scopeBounds are the instants a request's scope covers: from the start
// of its first day to the start of the day after its last, in loc.
func scopeBounds(req LegalRequest, loc *time.Location) (time.Time, time.Time) {
	from := req.ScopeFrom.In(loc)
	to := req.ScopeTo.In(loc)
	from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
	return from, end
}

// ProduceLegal builds the package a request's scope names, then records
// it: the production, each patron's part, when each patron's records were
// produced and one audit entry per patron, in one transaction. Nothing is
// returned (so nothing can be sent) unless that transaction committed.
// Only a court-issued, favourably reviewed, approved request produces.
func (s *Store) ProduceLegal(ctx context.Context, staffID, requestID int64, loc *time.Location, meta ExportMeta) (LegalPackage, error) {
	var pkg LegalPackage
	var req LegalRequest
	if err := s.db(ctx).Where("id = ?", requestID).Take(&req).Error; err != nil {
		return pkg, notFound(err)
	}
	var produced int64
	if err := s.db(ctx).Model(&LegalProduction{}).Where("request_id = ?", req.ID).Count(&produced).Error; err != nil {
		return pkg, err
	}
	if err := ProductionRefusal(req, int(produced)); err != nil {
		return pkg, err
	}
	now := s.Now().UTC().Truncate(time.Microsecond)
	from, end := scopeBounds(req, loc)
	keys := req.ScopeKeys()
	var cats []Category
	for _, c := range s.Categories() {
		for _, k := range keys {
			if c.Key == k {
				cats = append(cats, c)
			}
		}
	}
	names := map[int64]string{}
	var staff []Staff
	if err := s.db(ctx).Where("id IN ?", []int64{staffID, *req.ApprovedBy}).Find(&staff).Error; err != nil {
		return pkg, err
	}
	for _, st := range staff {
		names[st.ID] = staffName(st)
	}
	type part struct {
		patron Patron
		name   string
		data   []byte
		sum    string
	}
	var parts []part
	// One snapshot for every part, as for a patron's own export.
	var opts []*sql.TxOptions
	if DialectOfDB(s.DB) == Postgres {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	err := s.db(ctx).Transaction(func(tx *gorm.DB) error {
		var patrons []Patron
		if err := tx.Where("id IN (SELECT patron_id FROM legal_request_patrons WHERE request_id = ?)", req.ID).
			Order("id").Find(&patrons).Error; err != nil {
			return err
		}
		for i, p := range patrons {
			var buf bytes.Buffer
			if err := s.legalPart(tx, &buf, req, p, cats, from, end, loc, meta); err != nil {
				return fmt.Errorf("patron %d: %w", p.ID, err)
			}
			sum := sha256.Sum256(buf.Bytes())
			parts = append(parts, part{p, fmt.Sprintf("patron-%03d.json", i+1), buf.Bytes(), hex.EncodeToString(sum[:])})
		}
		return nil
	}, opts...)
	if err != nil {
		return pkg, fmt.Errorf("models: legal production: %w", err)
	}
	if len(parts) == 0 {
		return pkg, &LegalRefusal{Step: "produce", Message: "This request covers no patron."}
	}
	man := LegalManifest{
		Schema: "carrel-legal-production/1", Library: meta.Library,
		Request: LegalManifestReq{ID: req.ID, Kind: LegalKindLabel(req.Kind), Court: req.Issuer, Reference: req.Reference,
			ReceivedOn: req.ReceivedOn.In(loc).Format("2006-01-02"), OfficerName: req.OfficerName,
			OfficerAgency: req.OfficerAgency},
		Scope: LegalManifestScope{Categories: keys, From: from.Format("2006-01-02"),
			To: end.AddDate(0, 0, -1).Format("2006-01-02"), TimeZone: loc.String()},
		ProducedAt: now, ProducedBy: names[staffID], ApprovedBy: names[*req.ApprovedBy], ApprovedAt: req.ApprovedAt,
		Review: LegalManifestReview{Reviewer: req.Reviewer, Outcome: req.ReviewOutcome},
		RecordsNote: "Each part holds only the categories named in scope, and in each only records whose date falls " +
			"within the scope's dates; contact and card details are the patron's current details.",
	}
	if req.ReviewedOn != nil {
		man.Review.ReviewedOn = req.ReviewedOn.In(loc).Format("2006-01-02")
	}
	for _, p := range parts {
		man.Parts = append(man.Parts, LegalManifestPart{Name: p.name, CardNumber: p.patron.CardNumber, Size: len(p.data), SHA256: p.sum})
	}
	manifest, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return pkg, err
	}
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	add := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	if err := add("manifest.json", manifest); err != nil {
		return pkg, err
	}
	for _, p := range parts {
		if err := add(p.name, p.data); err != nil {
			return pkg, err
		}
	}
	if err := zw.Close(); err != nil {
		return pkg, err
	}
	zsum := sha256.Sum256(zbuf.Bytes())
	prod := LegalProduction{RequestID: req.ID, Categories: req.ScopeCategories, ScopeFrom: req.ScopeFrom, ScopeTo: req.ScopeTo,
		Manifest: string(manifest), PackageSHA256: hex.EncodeToString(zsum[:]), ProducedBy: &staffID,
		ApprovedBy: req.ApprovedBy, ProducedAt: now}
	titles := strings.Join(CategoryTitles(keys), ", ")
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		// The request is read again under lock: its state decides, not
		// what it was when the package was built.
		locked, err := lockRequest(tx, req.ID)
		if err != nil {
			return err
		}
		var produced int64
		if err := tx.Model(&LegalProduction{}).Where("request_id = ?", req.ID).Count(&produced).Error; err != nil {
			return err
		}
		if err := ProductionRefusal(locked, int(produced)); err != nil {
			return err
		}
		if *locked.ApprovedBy != *req.ApprovedBy {
			return &LegalRefusal{Step: "produce", Message: "The approval changed while the package was being built. Produce it again."}
		}
		if err := tx.Create(&prod).Error; err != nil {
			return err
		}
		// The approval covered this production and no other: it is used
		// up (the production keeps who gave it).
		res := tx.Model(&LegalRequest{}).Where("id = ? AND approved_by = ?", req.ID, *locked.ApprovedBy).
			Updates(map[string]any{"approved_by": nil, "approved_at": nil})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return &LegalRefusal{Step: "produce", Message: "The approval was used by another production at the same moment."}
		}
		restricted := locked.NondisclosureInForce(now)
		for _, p := range parts {
			if err := tx.Create(&LegalProductionPatron{ProductionID: prod.ID, PatronID: p.patron.ID, Part: p.name, SHA256: p.sum}).Error; err != nil {
				return err
			}
			if err := tx.Model(&LegalRequestPatron{}).Where("request_id = ? AND patron_id = ?", req.ID, p.patron.ID).
				UpdateColumn("produced_at", now).Error; err != nil {
				return err
			}
			pid := p.patron.ID
			if err := s.AppendAudit(tx, &AuditEntry{StaffID: &staffID, PatronID: &pid, Action: AuditLegalProduce, Restricted: restricted,
				Reason: LegalKindLabel(locked.Kind),
				Detail: fmt.Sprintf("records produced for %s, reference %s: %s, from %s to %s", locked.Issuer, locked.Reference,
					titles, man.Scope.From, man.Scope.To)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return LegalPackage{}, err
	}
	pkg = LegalPackage{Production: prod, Zip: zbuf.Bytes(),
		Name: fmt.Sprintf("legal-request-%d-production-%d.zip", req.ID, prod.ID)}
	return pkg, nil
}

type legalPartHeader struct {
	Schema     string             `json:"schema"`
	Request    string             `json:"request_reference"`
	Court      string             `json:"court"`
	CardNumber string             `json:"card_number"`
	Scope      LegalManifestScope `json:"scope"`
}

type legalContact struct {
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	Email         string `json:"email"`
	Phone         string `json:"phone"`
	PostalAddress string `json:"postal_address"`
}

type legalCard struct {
	CardNumber      string    `json:"card_number"`
	HomeBranch      string    `json:"home_branch"`
	CardExpiresOn   string    `json:"card_expires_on"`
	BorrowingStatus string    `json:"borrowing_status"`
	CreatedAt       time.Time `json:"record_created_at"`
}

// legalPart writes one patron's part: only the named categories, and in
// each only the records whose time column falls in [from, end), leaving
// legal process out of the staff-access entries. Records
// a legal hold kept past their retention are included: the hold exists so
// that they can be.
func (s *Store) legalPart(tx *gorm.DB, out *bytes.Buffer, req LegalRequest, p Patron, cats []Category,
	from, end time.Time, loc *time.Location, meta ExportMeta) error {
	w := bufio.NewWriter(out)
	head, err := json.Marshal(legalPartHeader{Schema: "carrel-legal-production-part/1", Request: req.Reference, Court: req.Issuer,
		CardNumber: p.CardNumber, Scope: LegalManifestScope{Categories: req.ScopeKeys(), From: from.Format("2006-01-02"),
			To: end.AddDate(0, 0, -1).Format("2006-01-02"), TimeZone: loc.String()}})
	if err != nil {
		return err
	}
	w.Write(head[:len(head)-1])
	w.WriteString(`,"categories":{`)
	for i, c := range cats {
		if i > 0 {
			w.WriteString(",")
		}
		key, _ := json.Marshal(c.Key)
		title, _ := json.Marshal(c.Title)
		w.Write(key)
		w.WriteString(`:{"title":`)
		w.Write(title)
		w.WriteString(`,"records":[`)
		x := recordScope{s: s, tx: tx, w: w, patron: p, limits: meta.Limits, legal: true, from: from, end: end}
		if err := x.writeRecords(&c); err != nil {
			return fmt.Errorf("%s: %w", c.Key, err)
		}
	}
	w.WriteString("}}\n")
	return w.Flush()
}
