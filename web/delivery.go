package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
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
	return s.render(c, status, views.NoticeUnsubscribe(s.page(c, "Stop emails about your favorite authors and subjects"), v))
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
	return s.render(c, status, views.NoticeUnsubscribe(s.page(c, "Stop emails about your favorite authors and subjects"), v))
}

// failureWords says why an email did not go, in the patron's words.
func failureWords(lastError string) string {
	switch models.FailureKind(lastError) {
	case models.FailureUnreachable:
		return "the library's mail service could not be reached"
	case models.FailureBusy:
		return "the receiving mail server asked us to try again later"
	case models.FailureRefused:
		return "the receiving mail server refused it"
	case models.FailureInterrupted:
		return "the connection broke while it was being sent"
	case models.FailureAddress:
		return "the email address on your record cannot receive mail; ask at any desk to correct it"
	}
	return "something went wrong on our side"
}

// deliveryStatus says where a notification's email stands.
func (s *Server) deliveryStatus(p *models.Patron, r models.NotificationDelivery, due func(string, time.Time) string) string {
	if r.SentAt != nil {
		return "Sent by email on " + s.date(*r.SentAt) + "; " + deletedOn(due("notifications", *r.SentAt))
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
		return "Not emailed: more than " + plural(int64(days), "day", "days") + " old"
	case status == models.DigestFailed:
		line := "Could not be sent: " + failureWords(lastError) + "."
		if r.DigestNextAttemptAt != nil {
			line += " Tried " + plural(int64(attempts), "time", "times") + "; " + deletedOn(due("notifications", *r.DigestNextAttemptAt))
		}
		return line
	case p.FavoritesNotice != models.NoticeDaily && p.FavoritesNotice != models.NoticeWeekly:
		return "Not emailed: you chose no email notices"
	case strings.TrimSpace(p.Email) == "":
		return "Not emailed: we have no email address for you"
	case status == models.DigestPending && attempts > 0:
		line := fmt.Sprintf("Retrying (attempt %d did not go through: %s)", attempts, failureWords(lastError))
		if r.DigestNextAttemptAt != nil {
			line += "; next try " + s.dateTime(*r.DigestNextAttemptAt)
		}
		return line
	case status == models.DigestPending:
		return "Waiting to be sent: your " + p.FavoritesNotice + " email is on its way"
	case !s.Config.Mail.Enabled():
		return "Waiting to be sent"
	}
	return "Waiting to be sent with your next " + p.FavoritesNotice + " email"
}

// digestTable lays out every digest email of a patron.
func (s *Server) digestTable(ctx context.Context, patronID int64, part models.CategoryPart, view models.PatronView) (views.Table, error) {
	t := views.Table{Caption: part.Title, TestID: part.Key, Empty: part.Empty,
		Columns: []views.Column{{Label: "Email"}, {Label: "New arrivals in it", Numeric: true}, {Label: "Status"}}}
	rows, err := s.Store.DigestRecords(ctx, patronID)
	if err == nil {
		rows, err = s.Store.VisibleDigests(ctx, view, rows)
	}
	if err != nil {
		return t, err
	}
	for _, r := range rows {
		name := "Email"
		if r.Period != "" {
			name = titleCase(r.Period) + " email"
		}
		if day, err := time.Parse("2006-01-02", r.PeriodDate); err == nil {
			name += " of " + day.Format("January 2, 2006")
		}
		status := ""
		switch r.Status {
		case models.DigestSent:
			status = "Sent " + s.dateTime(*r.SentAt)
		case models.DigestFailed:
			status = "Could not be sent after " + plural(int64(r.Attempts), "try", "tries") + ": " + failureWords(r.LastError)
		case models.DigestPending:
			status = "Waiting to be sent"
			if r.Attempts > 0 {
				status = fmt.Sprintf("Retrying after %s: %s", plural(int64(r.Attempts), "failed try", "failed tries"), failureWords(r.LastError))
			}
		}
		t.Rows = append(t.Rows, views.Row{Cells: []string{name, strconv.Itoa(len(r.NotificationIDs)), status}})
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
