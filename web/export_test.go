package web

import "context"

// Exported for the external tests' fuzz targets.
var (
	HandoffTargetForTest = handoffTarget
	LocalPathForTest     = localPath
)

// PurgeOnceForTest runs one daily purge, as the scheduler would.
func (s *Server) PurgeOnceForTest(ctx context.Context) { s.purgeOnce(ctx) }

// SigninFormPurpose is the purpose the sign-in forms' stamps are made for.
const SigninFormPurpose = signinFormPurpose
