package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"unicode"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
)

// Limits on new arrivals arriving over HTTP: the API body, and the CSV
// file in the staff form (whose whole request may be a little larger, for
// the form around the file).
const (
	arrivalsMaxBytes  = 5 << 20
	arrivalsFormLimit = "6M"
	recentArrivals    = 50
	shownProblems     = 100
)

// apiError is the JSON body of every refusal of the API.
type apiError struct {
	Error  string             `json:"error"`
	Errors []models.ItemError `json:"errors,omitempty"`
}

// APIArrivals takes new arrivals from the ILS: an API key as a bearer
// token; a JSON body of one item or {"items": [...]}, or a CSV file
// (text/csv) with the columns of the staff upload. Every item is checked
// first, and any problem refuses the whole batch (422, one error per
// problem with the item's index, field and message). docs/arrivals.md
// describes it. No session is read or started: the key is the caller.
func (s *Server) APIArrivals(c echo.Context) error {
	ctx := c.Request().Context()
	scheme, token, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	ok = ok && strings.EqualFold(scheme, "Bearer")
	key, err := s.Store.AuthenticateAPIKey(ctx, strings.TrimSpace(token))
	if !ok || errors.Is(err, models.ErrBadAPIKey) {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="carrel-api"`)
		return c.JSON(http.StatusUnauthorized, apiError{Error: "An API key is needed (Authorization: Bearer carrel_…), and this one is not valid or was revoked."})
	} else if err != nil {
		return s.apiFailed(c, err)
	}
	media, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if media != echo.MIMEApplicationJSON && media != "text/csv" {
		return c.JSON(http.StatusUnsupportedMediaType, apiError{Error: "Send application/json or text/csv."})
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, arrivalsMaxBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return c.JSON(http.StatusRequestEntityTooLarge, apiError{Error: fmt.Sprintf("The body is larger than %d MB; send the arrivals in several requests.", arrivalsMaxBytes>>20)})
	} else if err != nil {
		return c.JSON(http.StatusBadRequest, apiError{Error: "The body could not be read."})
	}
	var items []models.ArrivalInput
	var problems []models.ItemError
	if media == "text/csv" {
		items, problems = models.ParseArrivalsCSV(bytes.NewReader(body))
	} else {
		items, problems, err = decodeArrivals(body)
		if err != nil {
			return c.JSON(http.StatusBadRequest, apiError{Error: err.Error()})
		}
	}
	if len(items) > 0 {
		more, err := s.Store.CheckArrivals(ctx, items)
		if err != nil {
			return s.apiFailed(c, err)
		}
		problems = mergeProblems(problems, more)
	}
	if len(problems) > 0 {
		return c.JSON(http.StatusUnprocessableEntity, apiError{Error: problemsText(len(problems)), Errors: problems})
	}
	res, err := s.Store.AddArrivals(ctx, models.ArrivalSource{APIKeyID: &key.ID}, items)
	var bad *models.ArrivalsError
	if errors.As(err, &bad) {
		return c.JSON(http.StatusUnprocessableEntity, apiError{Error: problemsText(len(bad.Items)), Errors: bad.Items})
	} else if err != nil {
		return s.apiFailed(c, err)
	}
	s.Log.Info("arrivals posted", "key", key.Name, "created", res.Created, "updated", res.Updated, "notifications", res.Notifications)
	status := http.StatusOK
	if res.Created > 0 {
		status = http.StatusCreated
	}
	return c.JSON(status, res)
}

func problemsText(n int) string {
	if n == 1 {
		return "1 problem in the arrivals; nothing was stored."
	}
	return fmt.Sprintf("%d problems in the arrivals; nothing was stored.", n)
}

// apiFailed answers a failure on our side in JSON, logged by route.
func (s *Server) apiFailed(c echo.Context, err error) error {
	s.Log.Error("request failed", "route", c.Path(), "status", http.StatusInternalServerError, "err", logError(err))
	return c.JSON(http.StatusInternalServerError, apiError{Error: "Something went wrong on our side. " +
		"Send the same request again: an item sent twice is stored once, and nobody is told twice."})
}

// decodeArrivals reads one item, or {"items": [...]}. A body that is not
// such JSON is an error; an item that does not decode is a problem of
// that item, so that one answer lists every problem.
func decodeArrivals(body []byte) ([]models.ArrivalInput, []models.ItemError, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		//lint:ignore ST1005 the API client is sent this sentence as written
		return nil, nil, errors.New(`The body must be a JSON object: one item, or {"items": [...]}.`)
	}
	raws := []json.RawMessage{body}
	if list, ok := top["items"]; ok {
		if len(top) != 1 {
			//lint:ignore ST1005 the API client is sent this sentence as written
			return nil, nil, errors.New(`An object with "items" holds nothing else.`)
		}
		if err := json.Unmarshal(list, &raws); err != nil || raws == nil {
			//lint:ignore ST1005 the API client is sent this sentence as written
			return nil, nil, errors.New(`"items" must be an array of items.`)
		}
	}
	if len(raws) > models.MaxArrivalsPerBatch {
		return nil, []models.ItemError{{Index: models.MaxArrivalsPerBatch, Field: "items",
			Message: fmt.Sprintf("At most %d arrivals at a time; send them in several requests.", models.MaxArrivalsPerBatch)}}, nil
	}
	items := make([]models.ArrivalInput, len(raws))
	var problems []models.ItemError
	for i, raw := range raws {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err := dec.Decode(&items[i])
		var typeErr *json.UnmarshalTypeError
		switch {
		case err == nil:
		case errors.As(err, &typeErr):
			msg := "must be text"
			if typeErr.Field == "authors" || typeErr.Field == "subjects" {
				msg = `must be a list of text, like ["Butler, Octavia E."]`
			}
			problems = append(problems, models.ItemError{Index: i, Field: typeErr.Field, Message: "The " + typeErr.Field + " " + msg + "."})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			problems = append(problems, models.ItemError{Index: i, Field: field,
				Message: "Unknown field; the fields are " + strings.Join(models.ArrivalColumns, ", ") + "."})
		default:
			problems = append(problems, models.ItemError{Index: i, Field: "item", Message: "The item must be a JSON object."})
		}
	}
	return items, problems, nil
}

// mergeProblems puts two lists of problems in the order of the items,
// keeping one problem per item and field.
func mergeProblems(a, b []models.ItemError) []models.ItemError {
	seen := map[string]bool{}
	var out []models.ItemError
	for _, e := range append(a, b...) {
		k := fmt.Sprintf("%d/%d/%s", e.Line, e.Index, e.Field)
		if e.Field == "line" || !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Index < out[j].Index
	})
	return out
}

// StaffArrivals shows the upload form and the arrivals added last.
func (s *Server) StaffArrivals(c echo.Context) error {
	return s.renderArrivals(c, http.StatusOK, views.ArrivalsView{})
}

func (s *Server) renderArrivals(c echo.Context, status int, v views.ArrivalsView) error {
	recent, err := s.Store.RecentArrivals(c.Request().Context(), recentArrivals)
	if err != nil {
		return err
	}
	t := tr(c)
	for _, a := range recent {
		v.Rows = append(v.Rows, views.ArrivalRow{Title: a.Title, Authors: strings.Join(a.AuthorList(), "; "), Format: a.Format,
			// The day it arrived is a date, not a moment: no time zone.
			Arrived: t.Date(a.ArrivedOn, nil), Added: t.Date(a.CreatedAt, s.Config.Location), CatalogURL: a.CatalogURL, Notices: a.Notices})
	}
	v.Separator = models.ArrivalSeparator
	v.MaxItems, v.MaxMB = models.MaxArrivalsPerBatch, arrivalsMaxBytes>>20
	v.NoticeDays = s.Store.RetentionNow().NotificationDays
	title := t.S("staffops.arrivals.heading")
	if v.HasErrors() {
		title = t.S("staffops.arrivals.title_error", "Title", title)
	}
	return s.render(c, status, views.StaffArrivals(s.page(c, title), v))
}

// StaffArrivalsUpload adds the arrivals of a CSV file, audited, or shows
// the page again with every bad line and nothing stored.
func (s *Server) StaffArrivalsUpload(c echo.Context) error {
	refuse := func(v views.ArrivalsView) error { return s.renderArrivals(c, http.StatusUnprocessableEntity, v) }
	fh, err := c.FormFile("file")
	switch {
	case errors.Is(err, http.ErrMissingFile) || (err == nil && fh.Size == 0 && fh.Filename == ""):
		return refuse(views.ArrivalsView{FileError: tr(c).S("staffops.arrivals.error.no_file")})
	case err != nil:
		return refuse(views.ArrivalsView{FileError: tr(c).S("staffops.arrivals.error.broken")})
	case fh.Size > arrivalsMaxBytes:
		return refuse(views.ArrivalsView{FileError: tr(c).S("staffops.arrivals.error.too_large", "MB", arrivalsMaxBytes>>20)})
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	items, problems := models.ParseArrivalsCSV(io.LimitReader(f, arrivalsMaxBytes))
	if len(items) > 0 {
		more, err := s.Store.CheckArrivals(c.Request().Context(), items)
		if err != nil {
			return err
		}
		problems = mergeProblems(problems, more)
	}
	if len(problems) == 0 {
		st := currentStaff(c)
		res, err := s.Store.AddArrivals(c.Request().Context(), models.ArrivalSource{StaffID: &st.ID, File: fileName(fh.Filename)}, items)
		var bad *models.ArrivalsError
		if errors.As(err, &bad) {
			problems = bad.Items
		} else if err != nil {
			return err
		} else {
			t := tr(c)
			s.flash(c, t.S("staffops.arrivals.added", "Created", t.N("staffops.arrivals.new_arrivals", res.Created),
				"Updated", t.N("staffops.arrivals.arrivals", res.Updated))+" "+t.N("staffops.arrivals.notices", res.Notifications))
			return s.redirect(c, "/staff/arrivals")
		}
	}
	v := views.ArrivalsView{}
	for i, p := range problems {
		if i == shownProblems {
			v.MoreProblems = len(problems) - shownProblems
			break
		}
		v.Problems = append(v.Problems, p.String())
	}
	return refuse(v)
}

// fileName is an uploaded file's name as the audit log may keep it.
func fileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	if name == "." || name == "/" {
		return ""
	}
	return name
}
