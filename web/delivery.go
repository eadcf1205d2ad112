package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/labstack/echo/v4"
)

// The emails themselves are written and sent by models/mail; here are the
// pages their links lead to and what the patron's pages say of them.

// NoticeUnsubscribePage confirms the unsubscribe link of a new-arrival
// email. A GET never changes anything (mail scanners follow links), and
// starts no session.
func (s *Server) NoticeUnsubscribePage(c echo.Context) error {
	tok := c.Param("token")
	v := views.NoticeUnsubscribeView{Token: tok}
	status := http.StatusOK
	if err := s.Store.CheckNoticeToken(tok); err != nil {
		v.Invalid, status = true, http.StatusNotFound
	}
	return s.render(c, status, views.NoticeUnsubscribe(s.page(c, tr(c).S("email.unsub.title")), v))
}

// NoticeUnsubscribeSubmit stops a patron's new-arrival emails (RFC 8058):
// it needs no cookie and no form token, because a mail provider POSTs it.
func (s *Server) NoticeUnsubscribeSubmit(c echo.Context) error {
	err := s.Store.StopNoticesByToken(c.Request().Context(), c.Param("token"))
	v := views.NoticeUnsubscribeView{Done: true}
	status := http.StatusOK
	if errors.Is(err, models.ErrBadNoticeToken) {
		v.Invalid, v.Done, status = true, false, http.StatusNotFound
	} else if err != nil {
		return err
	}
	return s.render(c, status, views.NoticeUnsubscribe(s.page(c, tr(c).S("email.unsub.title")), v))
}

// failureWords says why an email did not go, in the patron's words.
func failureWords(t *i18n.Tr, lastError string) string {
	switch models.FailureKind(lastError) {
	case models.FailureUnreachable:
		return t.S("email.failure.unreachable")
	case models.FailureBusy:
		return t.S("email.failure.busy")
	case models.FailureRefused:
		return t.S("email.failure.refused")
	case models.FailureInterrupted:
		return t.S("email.failure.interrupted")
	case models.FailureAddress:
		return t.S("email.failure.address")
	}
	return t.S("email.failure.other")
}

// period is a patron's notice choice as the messages' IDs end ("daily"
// or "weekly"), for the sentences that name it.
func period(notice string) string {
	if notice == models.NoticeWeekly {
		return "weekly"
	}
	return "daily"
}

// deliveryStatus says where a notification's email stands.
func (s *Server) deliveryStatus(t *i18n.Tr, p *models.Patron, r models.NotificationDelivery, due func(string, time.Time) string) string {
	if r.SentAt != nil {
		return t.S("email.status.sent", "Date", t.Date(*r.SentAt, s.Config.Location), "Deletion", deletedOnIn(t, due("notifications", *r.SentAt)))
	}
	status, attempts := "", 0
	if r.DigestStatus != nil {
		status = *r.DigestStatus
	}
	if r.DigestAttempts != nil {
		attempts = *r.DigestAttempts
	}
	lastError := ""
	if r.DigestLastError != nil {
		lastError = *r.DigestLastError
	}
	days := s.Store.RetentionNow().NotificationDays
	switch {
	case r.SentAt == nil && r.DigestID == nil && r.CreatedAt.Before(s.Store.Now().AddDate(0, 0, -days)):
		// Past its retention (shown only while a hold pauses deletion):
		// emails never carry it (models.AssembleDigests).
		return t.N("email.status.too_old", int64(days))
	case status == models.DigestFailed:
		line := t.S("email.status.failed", "Why", failureWords(t, lastError))
		if r.DigestNextAttemptAt != nil {
			line += " " + t.N("email.status.tried", int64(attempts), "Deletion", deletedOnIn(t, due("notifications", *r.DigestNextAttemptAt)))
		}
		return line
	case p.FavoritesNotice != models.NoticeDaily && p.FavoritesNotice != models.NoticeWeekly:
		return t.S("email.status.no_notices")
	case strings.TrimSpace(p.Email) == "":
		return t.S("email.status.no_email")
	case status == models.DigestPending && attempts > 0:
		if r.DigestNextAttemptAt != nil {
			return t.S("email.status.retrying_next", "Attempt", t.Count(int64(attempts)), "Why", failureWords(t, lastError),
				"When", t.DateTime(*r.DigestNextAttemptAt, s.Config.Location))
		}
		return t.S("email.status.retrying", "Attempt", t.Count(int64(attempts)), "Why", failureWords(t, lastError))
	case status == models.DigestPending:
		return t.S("email.status.on_its_way." + period(p.FavoritesNotice))
	case !s.Config.Mail.Enabled():
		return t.S("email.status.waiting")
	}
	return t.S("email.status.next." + period(p.FavoritesNotice))
}

// digestTable lays out every digest email of a patron.
func (s *Server) digestTable(ctx context.Context, patronID int64, part models.CategoryPart, view models.PatronView) (views.Table, error) {
	tr := i18n.From(ctx)
	t := views.Table{Caption: part.Title, TestID: part.Key, Empty: part.Empty,
		Columns: []views.Column{{Label: tr.S("email.table.email")}, {Label: tr.S("email.table.items"), Numeric: true}, {Label: tr.S("email.table.status")}}}
	rows, err := s.Store.DigestRecords(ctx, patronID)
	if err == nil {
		rows, err = s.Store.VisibleDigests(ctx, view, rows)
	}
	if err != nil {
		return t, err
	}
	for _, r := range rows {
		suffix := ""
		if r.Period == models.NoticeDaily || r.Period == models.NoticeWeekly {
			suffix = "." + r.Period
		}
		name := tr.S("email.name" + suffix)
		if day, err := time.Parse("2006-01-02", r.PeriodDate); err == nil {
			name = tr.S("email.name_of"+suffix, "Date", tr.Date(day, time.UTC))
		}
		status := ""
		switch r.Status {
		case models.DigestSent:
			status = tr.S("email.row.sent", "When", tr.DateTime(*r.SentAt, s.Config.Location))
		case models.DigestFailed:
			status = tr.N("email.row.failed", int64(r.Attempts), "Why", failureWords(tr, r.LastError))
		case models.DigestPending:
			status = tr.S("email.status.waiting")
			if r.Attempts > 0 {
				status = tr.N("email.row.retrying", int64(r.Attempts), "Why", failureWords(tr, r.LastError))
			}
		}
		t.Rows = append(t.Rows, views.Row{Cells: []string{name, tr.Count(int64(len(r.NotificationIDs))), status}})
	}
	return t, nil
}

// categoryParts lays out a category's further tables (models.Category
// Parts) for its detail page and the print view.
func (s *Server) categoryParts(ctx context.Context, cat models.Category, patronID int64, view models.PatronView) ([]views.Table, error) {
	var out []views.Table
	for _, part := range cat.Parts {
		switch part.Table {
		case "digests":
			t, err := s.digestTable(ctx, patronID, part, view)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		default:
			return nil, fmt.Errorf("web: no table for %s's part %q", cat.Slug, part.Table)
		}
	}
	return out, nil
}
