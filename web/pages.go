package web

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/static"
	"github.com/carrel-library/carrel/views"
	"github.com/labstack/echo/v4"
)

// Home is the public landing page.
func (s *Server) Home(c echo.Context) error {
	return s.render(c, http.StatusOK, views.Home(s.page(c, "Welcome")))
}

func last(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// PolicyPage shows the library's privacy policy.
func (s *Server) PolicyPage(c echo.Context) error {
	return s.render(c, http.StatusOK, views.Policy(s.page(c, "Privacy policy"), s.Config.PolicyVersion, s.policy))
}

// parsePolicy splits plain policy text into sections: blocks are separated
// by blank lines, and a short single-line block without closing
// punctuation is a heading.
func parsePolicy(text string) []views.PolicySection {
	var out []views.PolicySection
	cur := views.PolicySection{}
	for _, block := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		block = strings.TrimSpace(block)
		if block == "" {
			continue
		}
		if !strings.Contains(block, "\n") && len(block) < 90 && !strings.HasSuffix(block, ".") &&
			!strings.HasSuffix(block, ":") && !strings.HasSuffix(block, "\"") && !strings.HasPrefix(block, "- ") {
			if cur.Heading != "" || len(cur.Paragraphs) > 0 {
				out = append(out, cur)
			}
			cur = views.PolicySection{Heading: block}
			continue
		}
		var list []string
		for _, line := range strings.Split(block, "\n") {
			line = strings.TrimSpace(line)
			if item, ok := strings.CutPrefix(line, "- "); ok {
				list = append(list, item)
				continue
			}
			if len(list) > 0 {
				cur.Paragraphs = append(cur.Paragraphs, views.PolicyParagraph{Items: list})
				list = nil
			}
			if line != "" {
				cur.Paragraphs = append(cur.Paragraphs, views.PolicyParagraph{Text: line})
			}
		}
		if len(list) > 0 {
			cur.Paragraphs = append(cur.Paragraphs, views.PolicyParagraph{Items: list})
		}
	}
	if cur.Heading != "" || len(cur.Paragraphs) > 0 {
		out = append(out, cur)
	}
	return out
}

// Healthz answers while the process is up.
func (s *Server) Healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// Readyz answers 200 while the database is reachable, 503 otherwise.
func (s *Server) Readyz(c echo.Context) error {
	if err := models.Ping(c.Request().Context(), s.Store.DB); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unreachable\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// Static serves the embedded assets. Their URLs carry a content version,
// so they may be cached for a year.
func (s *Server) Static(c echo.Context) error {
	name := c.Param("*")
	if name == "" || strings.HasSuffix(name, "/") {
		return echo.ErrNotFound
	}
	if info, err := fs.Stat(static.FS, name); err != nil || info.IsDir() {
		return echo.ErrNotFound
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeFileFS(c.Response(), c.Request(), static.FS, name)
	return nil
}

// Logo serves the library's own logo, when one is configured.
func (s *Server) Logo(c echo.Context) error {
	if s.logo == nil {
		return echo.ErrNotFound
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	ctype := http.DetectContentType(s.logo)
	if strings.HasSuffix(strings.ToLower(s.Config.LogoFile), ".svg") {
		ctype = "image/svg+xml"
	}
	return c.Blob(http.StatusOK, ctype, s.logo)
}
