package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/models/csvout"
	"github.com/carrel-library/carrel/views"
	"github.com/carrel-library/carrel/views/i18n"
	"github.com/labstack/echo/v4"
)

// MailingListsPage shows every active list and the patron's choice for each.
func (s *Server) MailingListsPage(c echo.Context) error {
	return s.mailingLists(c, http.StatusOK, "")
}

// mailingLists renders the mailing-list page; problem, when set, is why a
// subscription was refused, shown at the top as the form's error.
func (s *Server) mailingLists(c echo.Context, status int, problem string) error {
	p := currentPatron(c)
	ctx := c.Request().Context()
	lists, err := s.Store.AllLists(ctx)
	if err != nil {
		return err
	}
	subs, err := s.Store.SubscribedListIDs(ctx, p.ID)
	if err != nil {
		return err
	}
	v := views.ListsView{Email: p.Email, Schedule: s.noticeSchedule(*p)}
	var n int64
	for _, l := range lists {
		if l.RetiredAt != nil && !subs[l.ID] {
			continue
		}
		v.Lists = append(v.Lists, views.ListItem{Slug: l.Slug, Name: l.Name, Description: l.Description,
			Frequency: l.Frequency, Sender: l.Sender, ConsentText: l.ConsentText, Version: l.ConsentVersion,
			Subscribed: subs[l.ID], Retired: l.RetiredAt != nil})
		if subs[l.ID] {
			v.Any = true
			n++
		}
	}
	// What the button would stop, exactly; with nothing to stop there is no button.
	t := tr(c)
	switch notices := v.Schedule.On(); {
	case n > 0 && notices:
		v.StopAll = t.N("lists.stop_all.lists_and_emails", n, "Emails", t.S("lists.stop_all.emails."+v.Schedule.Notice))
	case n > 0:
		v.StopAll = t.N("lists.stop_all.lists", n)
	case notices:
		v.StopAll = t.S("lists.stop_all.emails", "Emails", t.S("lists.stop_all.emails."+v.Schedule.Notice))
	}
	title := t.S("lists.title")
	if problem != "" {
		v.Errors = views.FieldErrors{"list": problem}
		title = t.S("lists.title_error")
	}
	return s.render(c, status, views.MailingLists(s.page(c, title), v))
}

// ListSubscribe records the patron's consent to one list.
func (s *Server) ListSubscribe(c echo.Context) error {
	slug := c.Param("slug")
	changed, err := s.Store.Subscribe(c.Request().Context(), currentPatron(c).ID, slug, s.actor(c))
	switch {
	case errors.Is(err, models.ErrNotFound):
		return echo.ErrNotFound
	case errors.Is(err, models.ErrListRetired):
		return s.mailingLists(c, http.StatusUnprocessableEntity, tr(c).S("lists.error.retired"))
	case errors.Is(err, models.ErrNoEmail):
		return s.mailingLists(c, http.StatusUnprocessableEntity, tr(c).S("lists.error.no_email"))
	case err != nil:
		return err
	case changed:
		l, _ := s.Store.ListBySlug(c.Request().Context(), slug)
		s.flashRecord(c, "list.subscribed", l.ID)
	default:
		s.flash(c, tr(c).S("lists.flash.already"))
	}
	return s.redirect(c, "/mailing-lists")
}

// ListUnsubscribe withdraws the patron's consent to one list.
func (s *Server) ListUnsubscribe(c echo.Context) error {
	slug := c.Param("slug")
	changed, err := s.Store.Unsubscribe(c.Request().Context(), currentPatron(c).ID, slug, s.actor(c))
	switch {
	case errors.Is(err, models.ErrNotFound):
		return echo.ErrNotFound
	case err != nil:
		return err
	case changed:
		l, _ := s.Store.ListBySlug(c.Request().Context(), slug)
		s.flashRecord(c, "list.unsubscribed", l.ID)
	default:
		s.flash(c, tr(c).S("lists.flash.not_subscribed"))
	}
	return s.redirect(c, "/mailing-lists")
}

// ListUnsubscribeAll withdraws every list consent at once, and stops the
// emails about the patron's favorite authors and subjects; it says
// exactly what it stopped.
func (s *Server) ListUnsubscribeAll(c echo.Context) error {
	n, notices, err := s.Store.UnsubscribeAll(c.Request().Context(), currentPatron(c).ID, s.actor(c))
	if err != nil {
		return err
	}
	s.flash(c, stoppedWords(tr(c), int64(n), notices))
	return s.redirect(c, "/mailing-lists")
}

// stoppedWords says what "Unsubscribe from everything" stopped.
func stoppedWords(t *i18n.Tr, lists int64, notices bool) string {
	switch {
	case lists > 0 && notices:
		return t.N("lists.stopped.lists_and_emails", lists)
	case lists > 0:
		return t.N("lists.stopped.lists", lists)
	case notices:
		return t.S("lists.stopped.emails")
	}
	return t.S("lists.stopped.nothing")
}

// UnsubscribePage confirms a one-click unsubscribe. A GET never changes
// anything (mail scanners follow links), and starts no session.
func (s *Server) UnsubscribePage(c echo.Context) error {
	tok := c.Param("token")
	v := views.UnsubscribeView{Token: tok}
	l, err := s.Store.TokenList(c.Request().Context(), tok)
	status := http.StatusOK
	if errors.Is(err, models.ErrBadToken) {
		v.Invalid, status = true, http.StatusNotFound
	} else if err != nil {
		return err
	}
	v.ListName = l.Name
	return s.render(c, status, views.Unsubscribe(s.page(c, tr(c).S("lists.unsub.title")), v))
}

// UnsubscribeSubmit carries out a one-click unsubscribe (RFC 8058): it
// needs no cookie and no form token, because a mail provider POSTs it.
func (s *Server) UnsubscribeSubmit(c echo.Context) error {
	l, err := s.Store.UnsubscribeByToken(c.Request().Context(), c.Param("token"))
	v := views.UnsubscribeView{ListName: l.Name, Done: true}
	status := http.StatusOK
	if errors.Is(err, models.ErrBadToken) {
		v.Invalid, v.Done, status = true, false, http.StatusNotFound
	} else if err != nil {
		return err
	}
	return s.render(c, status, views.Unsubscribe(s.page(c, tr(c).S("lists.unsub.title")), v))
}

// UnsubscribeURL is the one-click link for a patron and a list.
func (s *Server) UnsubscribeURL(patronID, listID int64) string {
	return UnsubscribeURL(s.Config.PublicURL, s.Store, patronID, listID)
}

// UnsubscribeURL builds a one-click unsubscribe link under base.
func UnsubscribeURL(base string, store *models.Store, patronID, listID int64) string {
	return strings.TrimRight(base, "/") + "/unsubscribe/" + store.UnsubscribeToken(patronID, listID)
}

// StaffLists lists the mailing lists for administrators.
func (s *Server) StaffLists(c echo.Context) error {
	lists, err := s.Store.AllLists(c.Request().Context())
	if err != nil {
		return err
	}
	counts, err := s.Store.SubscriberCounts(c.Request().Context())
	if err != nil {
		return err
	}
	var rows []views.AdminList
	for _, l := range lists {
		status := tr(c).S("stafflists.status.active")
		if l.RetiredAt != nil {
			status = tr(c).S("stafflists.status.retired", "Date", tr(c).Date(*l.RetiredAt, s.Config.Location))
		}
		rows = append(rows, views.AdminList{Slug: l.Slug, Name: l.Name, Frequency: l.Frequency, Status: status,
			Version: l.ConsentVersion, Subscribers: counts[l.ID], Retired: l.RetiredAt != nil})
	}
	return s.render(c, http.StatusOK, views.StaffLists(s.page(c, tr(c).S("stafflists.title")), rows))
}

// StaffListNew shows an empty list form.
func (s *Server) StaffListNew(c echo.Context) error {
	return s.render(c, http.StatusOK, views.StaffListEdit(s.page(c, tr(c).S("stafflists.new_title")), views.ListEditView{}))
}

// StaffListEdit shows a list's form.
func (s *Server) StaffListEdit(c echo.Context) error {
	l, err := s.Store.ListBySlug(c.Request().Context(), c.Param("slug"))
	if errors.Is(err, models.ErrNotFound) || (err == nil && l.RetiredAt != nil) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.StaffListEdit(s.page(c, tr(c).S("stafflists.edit_title", "Name", l.Name)), views.ListEditView{
		Existing: l.Slug, Slug: l.Slug, Name: l.Name, Description: l.Description, Frequency: l.Frequency,
		Sender: l.Sender, ConsentText: l.ConsentText, Version: l.ConsentVersion,
	}))
}

// StaffListSave creates or updates a list.
func (s *Server) StaffListSave(c echo.Context) error {
	existing := c.Param("slug")
	f := models.ListForm{Slug: c.FormValue("slug"), Name: c.FormValue("name"), Description: c.FormValue("description"),
		Frequency: c.FormValue("frequency"), Sender: c.FormValue("sender"), ConsentText: c.FormValue("consent_text")}
	v := views.ListEditView{Existing: existing, Slug: f.Slug, Name: f.Name, Description: f.Description,
		Frequency: f.Frequency, Sender: f.Sender, ConsentText: f.ConsentText}
	if errs := f.Validate(); len(errs) > 0 {
		v.Errors = errs
		return s.render(c, http.StatusUnprocessableEntity, views.StaffListEdit(s.page(c, tr(c).S("stafflists.form_title")), v))
	}
	l, err := s.Store.SaveList(c.Request().Context(), currentStaff(c).ID, existing, f)
	var bad *models.InputError
	switch {
	case errors.As(err, &bad):
		v.Errors = views.FieldErrors{bad.Field: bad.Message}
		return s.render(c, http.StatusUnprocessableEntity, views.StaffListEdit(s.page(c, tr(c).S("stafflists.form_title")), v))
	case errors.Is(err, models.ErrNotFound):
		return echo.ErrNotFound
	case err != nil:
		return err
	}
	s.flashRecord(c, "list.saved", l.ID)
	return s.redirect(c, "/staff/lists")
}

// StaffListRetire retires a list.
func (s *Server) StaffListRetire(c echo.Context) error {
	err := s.Store.RetireList(c.Request().Context(), currentStaff(c).ID, c.Param("slug"))
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	s.flash(c, tr(c).S("stafflists.flash.retired"))
	return s.redirect(c, "/staff/lists")
}

// StaffListExport downloads one list's current subscribers as CSV: name,
// email and their unsubscribe link. Audited.
func (s *Server) StaffListExport(c echo.Context) error {
	slug := c.Param("slug")
	st := currentStaff(c)
	var buf strings.Builder
	w := csvout.NewWriter(&buf)
	_ = w.Write([]string{"name", "email", "unsubscribe_url"})
	_, err := s.Store.ExportSubscribers(c.Request().Context(), &st.ID, slug, func(sub models.Subscriber) error {
		return w.Write([]string{strings.TrimSpace(sub.GivenName + " " + sub.FamilyName), sub.Email, s.UnsubscribeURL(sub.PatronID, sub.ListID)})
	})
	switch {
	case errors.Is(err, models.ErrNotFound):
		return echo.ErrNotFound
	case errors.Is(err, models.ErrListRetired):
		s.flash(c, tr(c).S("stafflists.flash.export_retired"))
		return s.redirect(c, "/staff/lists")
	case err != nil:
		return err
	}
	w.Flush()
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+slug+`-subscribers.csv"`)
	if err := s.saveSession(c); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte(buf.String()))
}
