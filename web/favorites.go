package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
)

// favoritesView builds the favorites page for the signed-in patron.
func (s *Server) favoritesView(c echo.Context) (views.FavoritesView, error) {
	p := currentPatron(c)
	v := views.FavoritesView{
		Linked: p.FavoritesLinked, ConsentText: tr(c).S("favorites.consent"),
		ConsentVersion: models.FavoritesConsentVersion, Max: models.MaxFavorites, Notice: p.FavoritesNotice,
		Schedule: s.noticeSchedule(*p),
	}
	if !p.FavoritesLinked {
		return v, nil
	}
	ctx := c.Request().Context()
	favs, err := s.Store.AllFavorites(ctx, p.ID)
	if err != nil {
		return v, err
	}
	for _, f := range favs {
		v.Items = append(v.Items, views.FavoriteItem{ID: f.ID, Kind: tr(c).S("favorites.kind." + f.Kind), Display: f.Display})
	}
	v.Pending, err = s.Store.PendingNotifications(ctx, p.ID)
	return v, err
}

// noticeSchedule says when and where the patron's emails about their
// favorite authors and subjects go: the day is the library's digest day
// (CARREL_DIGEST_WEEKDAY), the address their own, shown to themselves.
func (s *Server) noticeSchedule(p models.Patron) views.NoticeSchedule {
	n := views.NoticeSchedule{Notice: p.FavoritesNotice, Day: s.Config.Mail.DigestWeekday,
		Email: strings.TrimSpace(p.Email), Sending: s.Config.Mail.Enabled()}
	if !p.FavoritesLinked {
		n.Notice = models.NoticeNone
	}
	return n
}

// FavoritesPage shows whether favorites are linked, and manages them.
func (s *Server) FavoritesPage(c echo.Context) error {
	v, err := s.favoritesView(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Favorites(s.page(c, tr(c).S("favorites.title")), v))
}

// favoritesActor is the actor for favorites changes, shown the favorites
// consent text of the given version.
func (s *Server) favoritesActor(c echo.Context) models.Actor {
	a := s.actor(c)
	a.TextVersion = models.FavoritesConsentVersion
	return a
}

// FavoritesLink records the patron's consent to link favorites. The box
// must be ticked, and the text they saw must be the current one.
func (s *Server) FavoritesLink(c echo.Context) error {
	next := localPath(c.FormValue("next"))
	errText := ""
	switch {
	case c.FormValue("version") != models.FavoritesConsentVersion:
		errText = tr(c).S("favorites.error.version")
	case c.FormValue("consent") != "yes":
		errText = tr(c).S("favorites.error.consent")
	}
	if errText != "" {
		v, err := s.favoritesView(c)
		if err != nil {
			return err
		}
		v.Errors = views.FieldErrors{"consent": errText}
		v.Next = next
		return s.render(c, http.StatusUnprocessableEntity, views.Favorites(s.page(c, tr(c).S("favorites.title_error")), v))
	}
	if _, err := s.Store.LinkFavorites(c.Request().Context(), currentPatron(c).ID, s.favoritesActor(c)); err != nil {
		return err
	}
	s.flash(c, tr(c).S("favorites.flash.linked"))
	return s.redirect(c, orDefault(next, "/favorites"))
}

// FavoritesUnlinkConfirm says how many favorites unlinking erases.
func (s *Server) FavoritesUnlinkConfirm(c echo.Context) error {
	p := currentPatron(c)
	if !p.FavoritesLinked {
		return s.redirect(c, "/favorites")
	}
	n, err := s.Store.CountRecords(c.Request().Context(), p.ID, "favorites", s.Config.Sessions)
	if err != nil {
		return err
	}
	t := tr(c)
	warning := t.S("favorites.unlink.none")
	if n > 0 {
		warning = t.N("favorites.unlink.warning", n)
	}
	return s.render(c, http.StatusOK, views.ConfirmPage(s.page(c, t.S("favorites.unlink.page_title")), views.Confirm{
		Title:     t.S("favorites.unlink.title"),
		Message:   t.S("favorites.unlink.message"),
		Warning:   warning,
		Action:    "/favorites/unlink",
		Button:    t.S("favorites.unlink.button"),
		CancelURL: "/favorites",
	}))
}

// FavoritesUnlink withdraws the consent and erases the favorites.
func (s *Server) FavoritesUnlink(c echo.Context) error {
	if c.FormValue("confirm") != "yes" {
		return s.redirect(c, "/favorites/unlink")
	}
	erased, _, err := s.Store.UnlinkFavorites(c.Request().Context(), currentPatron(c).ID, s.favoritesActor(c))
	if err != nil {
		return err
	}
	s.flash(c, tr(c).N("favorites.flash.unlinked", erased))
	return s.redirect(c, "/favorites")
}

// FavoritesAdd adds an author or subject.
func (s *Server) FavoritesAdd(c echo.Context) error {
	kind, name := c.FormValue("kind"), c.FormValue("name")
	fav, created, err := s.Store.AddFavorite(c.Request().Context(), currentPatron(c).ID, kind, name, s.favoritesActor(c))
	var bad *models.InputError
	switch {
	case errors.As(err, &bad):
		v, verr := s.favoritesView(c)
		if verr != nil {
			return verr
		}
		v.Kind, v.Name, v.Errors = kind, name, views.FieldErrors{bad.Field: bad.In(tr(c))}
		return s.render(c, http.StatusUnprocessableEntity, views.Favorites(s.page(c, tr(c).S("favorites.title_error")), v))
	case errors.Is(err, models.ErrNotLinked):
		s.flash(c, tr(c).S("favorites.flash.not_linked_add"))
		return s.redirect(c, "/favorites")
	case err != nil:
		return err
	case created:
		s.flashRecord(c, "favorite.followed", fav.ID)
	default:
		s.flashRecord(c, "favorite.already", fav.ID)
	}
	return s.redirect(c, "/favorites")
}

// FavoritesRemove removes one favorite.
func (s *Server) FavoritesRemove(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.ErrNotFound
	}
	fav, err := s.Store.RemoveFavorite(c.Request().Context(), currentPatron(c).ID, id, s.favoritesActor(c))
	if errors.Is(err, models.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	// The favorite is gone, and its name is not kept to say so.
	s.flash(c, tr(c).S("favorites.flash.removed."+favoriteKind(fav.Kind)))
	return s.redirect(c, "/favorites")
}

// FavoritesNotice records how the patron wants to hear about new arrivals.
func (s *Server) FavoritesNotice(c echo.Context) error {
	notice := c.FormValue("notice")
	changed, err := s.Store.SetFavoritesNotice(c.Request().Context(), currentPatron(c).ID, notice, s.favoritesActor(c))
	var bad *models.InputError
	switch {
	case errors.As(err, &bad):
		v, verr := s.favoritesView(c)
		if verr != nil {
			return verr
		}
		v.Errors = views.FieldErrors{"notice": bad.In(tr(c))}
		return s.render(c, http.StatusUnprocessableEntity, views.Favorites(s.page(c, tr(c).S("favorites.title_error")), v))
	case errors.Is(err, models.ErrNotLinked):
		s.flash(c, tr(c).S("favorites.flash.not_linked_notice"))
	case err != nil:
		return err
	case changed:
		p := *currentPatron(c)
		p.FavoritesNotice = notice
		t := tr(c)
		if notice == models.NoticeNone {
			s.flash(c, t.S("favorites.flash.notice_none"))
		} else {
			s.flash(c, t.S("favorites.flash.saved", "Summary", s.noticeSchedule(p).Summary(t)))
		}
	default:
		s.flash(c, tr(c).S("favorites.flash.unchanged"))
	}
	return s.redirect(c, "/favorites")
}

// Follow is the page a catalog link opens: follow one author or subject.
// A GET never changes anything; it offers the button that does.
func (s *Server) Follow(c echo.Context) error {
	author, subject := c.QueryParam("author"), c.QueryParam("subject")
	p := currentPatron(c)
	v := views.FollowView{Linked: p.FavoritesLinked, ConsentText: tr(c).S("favorites.consent"),
		Version: models.FavoritesConsentVersion, Next: c.Request().URL.RequestURI()}
	status := http.StatusOK
	switch {
	case (author == "") == (subject == ""):
		v.Error = tr(c).S("favorites.follow.error")
		status = http.StatusBadRequest
	case author != "":
		v.Kind, v.Name = models.FavoriteAuthor, author
	default:
		v.Kind, v.Name = models.FavoriteSubject, subject
	}
	if v.Error == "" {
		name, err := models.ValidateFavorite(v.Kind, v.Name)
		var bad *models.InputError
		if errors.As(err, &bad) {
			v.Error, status = bad.In(tr(c)), http.StatusBadRequest
		} else {
			v.Name = name
			if v.Linked {
				already, err := s.Store.Follows(c.Request().Context(), p.ID, v.Kind, name)
				if err != nil {
					return err
				}
				v.Already = already
			}
		}
	}
	if localPath(v.Next) == "" {
		v.Next = "/opac/follow?" + url.Values{v.Kind: {v.Name}}.Encode()
	}
	return s.render(c, status, views.Follow(s.page(c, tr(c).S("favorites.follow.title")), v))
}

// favoriteKind is "author" or "subject", as the messages' IDs end.
func favoriteKind(kind string) string {
	if kind == models.FavoriteSubject {
		return "subject"
	}
	return "author"
}
