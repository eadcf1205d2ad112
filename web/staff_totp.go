package web

import (
	"encoding/json"
	"errors"
	"image/color"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
)

// A staff sign-in with a second factor takes two posts: the password, then
// a code (or, for an account whose role needs a second factor and has
// none, its enrolment). Nothing is stored between them and no cookie is
// set before the staff member is fully signed in: the pending sign-in
// travels in a hidden form field, sealed under the server key
// (models.Keys.Seal: encrypted and authenticated), never in the address.
// It names the staff member, the step and, for an enrolment, the new
// secret; it expires, and it is bound to the account's second factor as
// it was when it was issued (the last accepted time step and the
// enrolment time), so that once a code or an enrolment completes it, it is
// worth nothing.
const (
	pendingPurpose = "staff-signin-pending"
	// pendingCodeLife is how long the code step waits: enough to find a
	// phone, short enough that a page left open is useless.
	pendingCodeLife = 5 * time.Minute
	// pendingEnrolLife leaves time to install an app.
	pendingEnrolLife = 15 * time.Minute
)

// The pending steps.
const (
	stepCode    = "code"    // a code or a recovery code, at sign-in
	stepEnrol   = "enrol"   // a first enrolment, at sign-in
	stepReenrol = "reenrol" // a signed-in staff member's own enrolment
)

// pendingSignIn is the sealed state of a sign-in under way.
type pendingSignIn struct {
	Staff    int64  `json:"s"`
	Step     string `json:"t"`
	Secret   string `json:"k,omitempty"`
	LastStep int64  `json:"l"`
	Enrolled int64  `json:"e"`
	Next     string `json:"n,omitempty"`
	Expires  int64  `json:"x"`
	Nonce    string `json:"r"`
}

// errPending refuses a pending token that was altered, has expired, was
// used already, or belongs to another step.
var errPending = errors.New("web: pending sign-in refused")

func enrolledUnix(st models.Staff) int64 {
	if st.TOTPEnrolledAt == nil {
		return 0
	}
	return st.TOTPEnrolledAt.UnixMicro()
}

// sealPending issues a pending token for st at step.
func (s *Server) sealPending(st models.Staff, step, secret, next string) string {
	life := pendingCodeLife
	if step != stepCode {
		life = pendingEnrolLife
	}
	p := pendingSignIn{Staff: st.ID, Step: step, Secret: secret, LastStep: st.TOTPLastStep, Enrolled: enrolledUnix(st),
		Next: next, Expires: s.Store.Now().Add(life).Unix(), Nonce: models.RandomToken()[:16]}
	b, _ := json.Marshal(p) // #nosec G117 -- sealed (encrypted and authenticated) at once, never sent in clear
	return s.Store.Keys.Seal(pendingPurpose, b)
}

// openPending reads the pending token a form posted for step, and the
// staff member it names as they are now.
func (s *Server) openPending(c echo.Context, step string) (pendingSignIn, models.Staff, error) {
	var p pendingSignIn
	raw := c.Request().PostFormValue("pending")
	if len(raw) > 2048 {
		return p, models.Staff{}, errPending
	}
	b, err := s.Store.Keys.Open(pendingPurpose, raw)
	if err != nil || json.Unmarshal(b, &p) != nil || p.Step != step || s.Store.Now().Unix() >= p.Expires {
		return p, models.Staff{}, errPending
	}
	st, err := s.Store.StaffMember(c.Request().Context(), p.Staff)
	if errors.Is(err, models.ErrNotFound) {
		return p, st, errPending
	} else if err != nil {
		return p, st, err
	}
	if st.TOTPLastStep != p.LastStep || enrolledUnix(st) != p.Enrolled {
		return p, st, errPending // used already, or the factor changed since
	}
	return p, st, nil
}

// afterPassword is the sign-in after a right password: the code step for
// an account with a second factor, its enrolment for one that must have
// one, else signed in.
func (s *Server) afterPassword(c echo.Context, st models.Staff, next string) error {
	switch {
	case st.HasSecondFactor():
		return s.renderCodeStep(c, http.StatusOK, s.sealPending(st, stepCode, "", next), "")
	case models.SecondFactorRequired(s.Config.StaffTOTP, st.Role):
		key, err := models.NewTOTPKey(st.Username)
		if err != nil {
			return err
		}
		tok := s.sealPending(st, stepEnrol, key.Secret(), next)
		return s.renderEnrol(c, http.StatusOK, st, enrolForm{action: "/staff/login/enrol", pending: tok, secret: key.Secret(), required: true})
	}
	if err := s.Store.StaffSignedIn(c.Request().Context(), st.ID, "password"); err != nil {
		return err
	}
	if err := s.signInStaff(c, st); err != nil {
		return err
	}
	return s.redirect(c, orDefault(next, "/staff"))
}

// passwordOnly reports whether st is a local account whose role needs a
// second factor that it has not set up (a session from before the policy
// or the role asked for one, or from before a reset): no page may open for
// it. Accounts made by single sign-on have the identity provider's.
func (s *Server) passwordOnly(st models.Staff) bool {
	return st.OIDCSubject == nil && !st.HasSecondFactor() && models.SecondFactorRequired(s.Config.StaffTOTP, st.Role)
}

// signInStaff puts the staff member on a brand-new session.
func (s *Server) signInStaff(c echo.Context, st models.Staff) error {
	sess := session(c)
	if err := s.Sessions.Destroy(c.Request().Context(), sess); err != nil {
		return err
	}
	s.stats.Inc("signin.staff")
	sess.SignInStaff(st.ID)
	c.Set(ctxStaff, &st)
	c.Set(ctxPatron, nil)
	return nil
}

func (s *Server) renderCodeStep(c echo.Context, status int, pending, msg string) error {
	f := views.SecondFactorStep{FormToken: s.signinFormToken(), Pending: pending, Message: msg}
	title := tr(c).S("staff.totp.code.title")
	if msg != "" {
		f.Error = msg
		title = staffErrorTitle(c, title)
	}
	return s.render(c, status, views.SecondFactorPage(s.page(c, title), f))
}

// pendingRefused sends the visitor back to the password: the sign-in
// under way is gone.
func (s *Server) pendingRefused(c echo.Context) error {
	return s.renderStaffLogin(c, http.StatusForbidden, staffErrorTitle(c, tr(c).S("staff.login.title")), views.StaffLoginForm{
		Message: tr(c).S("staff.totp.pending_refused")})
}

// StaffLoginCode is the second step of a staff sign-in: a code from the
// authenticator app or a recovery code, with the same lockout and pacing
// as the password.
func (s *Server) StaffLoginCode(c echo.Context) error {
	p, st, err := s.openPending(c, stepCode)
	if errors.Is(err, errPending) {
		return s.pendingRefused(c)
	} else if err != nil {
		return err
	}
	pending := c.Request().PostFormValue("pending")
	code := strings.TrimSpace(c.Request().PostFormValue("code"))
	if code == "" || len(code) > 20 {
		return s.renderCodeStep(c, http.StatusUnprocessableEntity, pending, tr(c).S("staff.totp.error.empty"))
	}
	recovery, err := s.Store.CheckSecondFactor(signinContext(c), st.ID, code)
	var locked *models.LockedError
	var busy *models.BusyError
	switch {
	case errors.As(err, &busy):
		return s.renderCodeStep(c, busyStatus(c, busy), pending, busyMessage(tr(c), busy, "username"))
	case errors.As(err, &locked):
		s.retryAfterLock(c, locked)
		return s.renderCodeStep(c, http.StatusTooManyRequests, pending,
			tr(c).S("staff.login.locked", "Time", tr(c).TimeZone(locked.Until, s.Config.Location)))
	case errors.Is(err, models.ErrBadCredentials):
		return s.renderCodeStep(c, http.StatusUnauthorized, pending, tr(c).S("staff.totp.error.wrong"))
	case errors.Is(err, models.ErrNotFound):
		return s.pendingRefused(c)
	case err != nil:
		return err
	}
	method := "password and authenticator code"
	if recovery {
		method = "password and recovery code"
	}
	if err := s.Store.StaffSignedIn(c.Request().Context(), st.ID, method); err != nil {
		return err
	}
	if err := s.signInStaff(c, st); err != nil {
		return err
	}
	if recovery {
		left, err := s.Store.RecoveryCodesLeft(c.Request().Context(), st.ID)
		if err != nil {
			return err
		}
		s.flash(c, tr(c).N("staff.totp.recovery_used", left))
	}
	return s.redirect(c, orDefault(p.Next, "/staff"))
}

// enrolForm is what an enrolment page shows.
type enrolForm struct {
	action, pending, secret, msg string
	required                     bool
	errors                       views.FieldErrors
}

func (s *Server) renderEnrol(c echo.Context, status int, st models.Staff, f enrolForm) error {
	key, err := models.TOTPKeyFromSecret(st.Username, f.secret)
	if err != nil {
		return err
	}
	code, err := qrCode(key.URL())
	if err != nil {
		return err
	}
	v := views.SecondFactorEnrol{Action: f.action, Pending: f.pending, QR: code, Secret: groupSecret(f.secret),
		Required: f.required, Message: f.msg, Errors: f.errors}
	if f.action == "/staff/login/enrol" {
		v.FormToken = s.signinFormToken()
	} else if st.HasSecondFactor() {
		v.Enrolled = tr(c).Date(*st.TOTPEnrolledAt, s.Config.Location)
		if v.CodesLeft, err = s.Store.RecoveryCodesLeft(c.Request().Context(), st.ID); err != nil {
			return err
		}
	}
	title := tr(c).S("staff.totp.enrol.title")
	if f.msg != "" || len(f.errors) > 0 {
		title = staffErrorTitle(c, title)
	}
	return s.render(c, status, views.SecondFactorEnrolPage(s.page(c, title), v))
}

// StaffLoginEnrol confirms the enrolment a sign-in needed with a first
// code; the staff member is then signed in and shown their recovery codes,
// once.
func (s *Server) StaffLoginEnrol(c echo.Context) error {
	p, st, err := s.openPending(c, stepEnrol)
	if errors.Is(err, errPending) {
		return s.pendingRefused(c)
	} else if err != nil {
		return err
	}
	codes, err := s.Store.EnrolSecondFactor(c.Request().Context(), st.ID, p.Secret, c.Request().PostFormValue("code"))
	if errors.Is(err, models.ErrSecondFactorCode) {
		return s.renderEnrol(c, http.StatusUnprocessableEntity, st, enrolForm{action: "/staff/login/enrol",
			pending: c.Request().PostFormValue("pending"), secret: p.Secret, required: true,
			errors: views.FieldErrors{"code": tr(c).S("staff.totp.error.mismatch")}})
	} else if err != nil {
		return err
	}
	if err := s.Store.StaffSignedIn(c.Request().Context(), st.ID, "password and a newly enrolled authenticator"); err != nil {
		return err
	}
	if err := s.signInStaff(c, st); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.RecoveryCodesPage(s.page(c, tr(c).S("staff.totp.codes.title")),
		views.RecoveryCodes{Codes: codes, Next: orDefault(p.Next, "/staff")}))
}

// StaffSecondFactor is a signed-in staff member's own second factor page:
// set up an authenticator app, or a new one in place of the old.
func (s *Server) StaffSecondFactor(c echo.Context) error {
	st := currentStaff(c)
	key, err := models.NewTOTPKey(st.Username)
	if err != nil {
		return err
	}
	return s.renderEnrol(c, http.StatusOK, *st, enrolForm{action: "/staff/2fa",
		pending: s.sealPending(*st, stepReenrol, key.Secret(), ""), secret: key.Secret()})
}

// StaffSecondFactorEnrol confirms a signed-in staff member's new
// authenticator. Replacing one in use needs a code from it (or a recovery
// code) first, checked with the sign-in's lockout, so that a session left
// open is not enough to take the account's second factor over.
func (s *Server) StaffSecondFactorEnrol(c echo.Context) error {
	cur := currentStaff(c)
	p, st, err := s.openPending(c, stepReenrol)
	if errors.Is(err, errPending) || (err == nil && st.ID != cur.ID) {
		return s.redirectWithFlash(c, "/staff/2fa", tr(c).S("staff.totp.form_expired"))
	} else if err != nil {
		return err
	}
	f := enrolForm{action: "/staff/2fa", pending: c.Request().PostFormValue("pending"), secret: p.Secret, errors: views.FieldErrors{}}
	if st.HasSecondFactor() {
		_, err := s.Store.CheckSecondFactor(signinContext(c), st.ID, c.Request().PostFormValue("current"))
		var locked *models.LockedError
		switch {
		case errors.As(err, &locked):
			s.retryAfterLock(c, locked)
			f.msg = tr(c).S("staff.totp.locked", "Time", tr(c).TimeZone(locked.Until, s.Config.Location))
			return s.renderEnrol(c, http.StatusTooManyRequests, st, f)
		case errors.Is(err, models.ErrBadCredentials):
			f.errors["current"] = tr(c).S("staff.totp.error.current")
			return s.renderEnrol(c, http.StatusUnauthorized, st, f)
		case err != nil:
			return err
		}
	}
	codes, err := s.Store.EnrolSecondFactor(c.Request().Context(), st.ID, p.Secret, c.Request().PostFormValue("code"))
	if errors.Is(err, models.ErrSecondFactorCode) {
		st, _ = s.Store.StaffMember(c.Request().Context(), st.ID)
		f.errors["code"] = tr(c).S("staff.totp.error.mismatch")
		// The current code was used: a new form is bound to the account as it is now.
		f.pending = s.sealPending(st, stepReenrol, p.Secret, "")
		return s.renderEnrol(c, http.StatusUnprocessableEntity, st, f)
	} else if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.RecoveryCodesPage(s.page(c, tr(c).S("staff.totp.codes.title")),
		views.RecoveryCodes{Codes: codes, Next: "/staff"}))
}

// redirectWithFlash sends the visitor to a page with a message for it.
func (s *Server) redirectWithFlash(c echo.Context, to, msg string) error {
	s.flash(c, msg)
	return s.redirect(c, to)
}

// groupSecret spaces a base32 secret in groups of four, to be typed.
func groupSecret(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// qrCode draws content as a QR code for an inline SVG: one path of unit
// squares, one per dark module. It is made here, so the page needs nothing
// from another site.
func qrCode(content string) (views.QRCode, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return views.QRCode{}, err
	}
	n := code.Bounds().Dx()
	var b strings.Builder
	for y := range n {
		for x := range n {
			if code.At(x, y) == color.Black {
				b.WriteString("M" + strconv.Itoa(x) + " " + strconv.Itoa(y) + "h1v1h-1z")
			}
		}
	}
	return views.QRCode{Size: n, Path: b.String()}, nil
}
