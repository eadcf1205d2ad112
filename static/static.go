// Package static holds the portal's own assets (styles, images, the default
// policy text), embedded in the binary so that no page ever loads anything
// from another origin.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

//go:embed css img
var FS embed.FS

// DefaultPolicy is the privacy policy shown when the library configures
// none of its own: the model policy Carrel was written to keep.
//
//go:embed policy.txt
var DefaultPolicy string

var versions = func() map[string]string {
	v := map[string]string{}
	_ = fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		v[path] = hex.EncodeToString(sum[:6])
		return nil
	})
	return v
}()

// URL is the address of an embedded asset, versioned by its content so that
// browsers may cache it for a long time and still see every change.
func URL(name string) string {
	if v, ok := versions[name]; ok {
		return "/static/" + name + "?v=" + v
	}
	return "/static/" + name
}
