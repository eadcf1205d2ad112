package web

// Exported for the external tests' fuzz targets.
var (
	HandoffTargetForTest = handoffTarget
	LocalPathForTest     = localPath
)

// SigninFormPurpose is the purpose the sign-in forms' stamps are made for.
const SigninFormPurpose = signinFormPurpose
