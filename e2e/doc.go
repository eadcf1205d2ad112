// Package e2e holds Carrel's real-browser journeys: each test builds the
// carrel binary once, starts `carrel seed --demo` and `carrel serve --demo`
// as subprocesses on a free local port, on SQLite and then on PostgreSQL,
// and drives Debian's Chromium through the DevTools protocol (chromedp).
//
// Every page a journey visits is audited the same way (see audit_test.go):
//
//   - cookies: at most one, carrel_session, a session cookie, HttpOnly,
//     SameSite=Lax, holding no patron identifier;
//   - origins: the page requests nothing but the portal itself;
//   - console: no uncaught exception and no error in the browser log
//     (a Content-Security-Policy violation shows up there);
//   - accessibility: axe-core finds no WCAG 2.0/2.1/2.2 A or AA violation;
//   - a full-page PNG is saved under e2e/screenshots/<db>/ (at most the
//     top 16,000 CSS pixels of a longer page);
//   - on a phone: the page is shown again on a 390 by 844 px mobile
//     viewport, saved as <name>-390.png, checked by axe-core again, and
//     must not scroll sideways (the elements that stick out are named);
//     every table body cell carries its column's name in data-label, which
//     the phone shows beside the value.
//
// Every page the portal serves is audited by some journey: after a whole
// run (no -run, -skip or -short), TestMain compares the audited paths with
// the GET routes of the route table and the categories of "What we hold
// about you", and fails when one was never audited (coverage_test.go,
// which also holds TestPageStatesJourney for the states no other journey
// reaches, and notPages, the routes that serve no page, each with why).
//
// On a page with thousands of table rows (the printable record of a
// 5,000-item reading history) the screenshot and axe-core see the first 50
// rows of each table only; the other rows repeat the same markup, and
// everything else a journey checks sees them all (see longPageRows).
//
// The binary is started, stopped and spoken to over plain HTTP by
// e2e/internal/portal, the harness the fault tests (faults_test.go) and
// the load benchmark (e2e/load) share.
//
// The tests never rely on the page's own scripts: the portal works without
// JavaScript, and the patron journey runs with page scripts switched off.
//
// What the tests need, and where they find it:
//
//	CARREL_CHROMIUM            the browser (default: chromium on PATH, /usr/bin/chromium)
//	CARREL_AXE_JS              axe.min.js (default: .cache/axe/node_modules/axe-core/axe.min.js,
//	                           installed by `make axe`, which `make test` runs)
//	CARREL_TEST_DATABASE_URL   a PostgreSQL server where a fresh database is created
//	                           (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
//
// When the browser, axe-core or PostgreSQL is missing, the tests skip what
// needs it with a loud message; with CI=true that is a failure instead.
//
// Run them with `go test ./e2e/` (add -v to see the skips and timings), or
// with the rest through `make test`.
package e2e
