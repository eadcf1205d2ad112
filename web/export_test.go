package web

import (
	"github.com/labstack/echo/v4"
)

// Exported for the external tests' fuzz targets.
var (
	HandoffTargetForTest = handoffTarget
	LocalPathForTest     = localPath
)

// SigninFormPurpose is the purpose the sign-in forms' stamps are made for.
const SigninFormPurpose = signinFormPurpose

// HandleForTest adds a route outside the table, behind the same
// middleware, for a test that needs a handler the portal does not have
// (one that panics).
func (s *Server) HandleForTest(method, path string, h func(echo.Context) error) {
	s.echo.Add(method, path, h)
}
