package views

// SecondFactorStep is the second step of a staff sign-in: a code from the
// authenticator app or a recovery code.
type SecondFactorStep struct {
	// FormToken is the sign-in form's stateless token; Pending the sealed
	// sign-in under way (who passed the password step, until when).
	FormToken, Pending string
	Message            string
	Error              string
}

// QRCode is a QR code as an SVG path: Size modules square, Path drawing
// the dark ones.
type QRCode struct {
	Size int
	Path string
}

// SecondFactorEnrol is the enrolment form: the new secret as a QR code and
// as text, and a field for a first code that shows the app holds it.
type SecondFactorEnrol struct {
	// Action is where the form posts: the sign-in's enrolment step, or the
	// signed-in staff member's own page.
	Action string
	// FormToken is the sign-in form's stateless token (empty when signed
	// in: the page's session token is used); Pending the sealed enrolment
	// under way, new secret included.
	FormToken, Pending string
	QR                 QRCode
	// Secret is the base32 secret in groups of four, for typing.
	Secret string
	// Required says the role must have a second factor before it can
	// sign in; Enrolled, that an authenticator is in use already (so the
	// current code is asked for too) and since when; CodesLeft, its
	// unused recovery codes.
	Required  bool
	Enrolled  string
	CodesLeft int64
	Message   string
	Errors    FieldErrors
}

// RecoveryCodes shows the new recovery codes, once.
type RecoveryCodes struct {
	Codes []string
	// Next is where "Continue" goes.
	Next string
}
