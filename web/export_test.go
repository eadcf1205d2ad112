package web

// Exported for the external tests' fuzz targets.
var (
	HandoffTargetForTest = handoffTarget
	LocalPathForTest     = localPath
)
