package web_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carrel-library/carrel/models"
	"github.com/carrel-library/carrel/web"
	"go.yaml.in/yaml/v3"
)

// alertRules is deploy/prometheus/alerts.yml as Prometheus reads it.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var (
	carrelMetric = regexp.MustCompile(`\bcarrel_[a-z0-9_]+`)
	// selector is a metric name with its label matchers: name{l="v", ...}.
	selector = regexp.MustCompile(`\b(carrel_[a-z0-9_]+)\{([^}]*)\}`)
	matcher  = regexp.MustCompile(`([a-z_]+)\s*(=~|!=|!~|=)\s*"([^"]*)"`)
	byLabels = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	// templateLabel is $labels.NAME in an annotation.
	templateLabel = regexp.MustCompile(`\$labels\.([a-z_]+)`)
)

// series is one scraped series: its name and labels.
type series struct {
	name   string
	labels map[string]string
}

func parseSeries(key string) series {
	name, rest, _ := strings.Cut(key, "{")
	s := series{name: name, labels: map[string]string{}}
	for _, m := range matcher.FindAllStringSubmatch(strings.TrimSuffix(rest, "}"), -1) {
		s.labels[m[1]] = m[3]
	}
	return s
}

// TestAlertRulesUseWhatMetricsExposes: every rule in alerts.yml is well
// formed, and every carrel_* metric, label and counter name it uses is on
// the /metrics of a running portal that has purged, failed to reach its
// library's system, and has consent changes waiting, so a renamed metric
// or a mistyped counter cannot leave an alert that never fires.
func TestAlertRulesUseWhatMetricsExposes(t *testing.T) {
	raw, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	if len(rules.Groups) == 0 {
		t.Fatal("alerts.yml has no groups")
	}
	forEachDB(t, web.Config{MetricsToken: opsMetricsToken}, func(t *testing.T, a *app) {
		ctx := context.Background()
		p := a.patron(card, pin, "Rosa", "Parks")
		a.store.ConsentTargets = []string{models.TargetKoha}
		pendingOutboxRow(t, a, p, models.TargetKoha)
		if _, err := a.store.Purge(ctx, false, 100, models.SessionLimits{}); err != nil {
			t.Fatal(err)
		}
		ils := newFakeILS("sip2")
		ils.add(card, pin, models.ILSPatron{GivenName: "Rosa", FamilyName: "Parks"})
		a.withILS(ils)
		wantRedirect(t, a.client().signIn(card, pin), "/data")
		ils.setDown(true)
		wantStatus(t, a.client().signIn(card, pin), http.StatusServiceUnavailable)

		var scraped []series
		for key := range a.scrape(t) {
			scraped = append(scraped, parseSeries(key))
		}
		named := func(name string) []series {
			var out []series
			for _, s := range scraped {
				if s.name == name {
					out = append(out, s)
				}
			}
			return out
		}

		// The operator's guide names metrics (from its Metrics section to
		// the runbooks) and explains every alert: each must be real.
		guide, err := os.ReadFile("../docs/operations.md")
		if err != nil {
			t.Fatal(err)
		}
		_, metricsPart, _ := strings.Cut(string(guide), "\n## Metrics\n")
		metricsPart, _, _ = strings.Cut(metricsPart, "\n## Runbooks\n")
		if metricsPart == "" {
			t.Fatal(`docs/operations.md has no "## Metrics" section before "## Runbooks"`)
		}
		for _, name := range carrelMetric.FindAllString(metricsPart, -1) {
			if len(named(name)) == 0 {
				t.Errorf("docs/operations.md names %s, which is not on /metrics", name)
			}
		}

		seen := map[string]bool{}
		for _, g := range rules.Groups {
			if g.Name == "" || len(g.Rules) == 0 {
				t.Errorf("group %q: a group needs a name and rules", g.Name)
			}
			for _, r := range g.Rules {
				switch {
				case r.Alert == "" || r.Expr == "":
					t.Errorf("group %q: a rule without alert or expr: %+v", g.Name, r)
					continue
				case seen[r.Alert]:
					t.Errorf("%s: named twice", r.Alert)
				}
				seen[r.Alert] = true
				if !strings.Contains(string(guide), "`"+r.Alert+"`") {
					t.Errorf("%s: docs/operations.md does not explain it", r.Alert)
				}
				if r.For != "" {
					if d, err := time.ParseDuration(r.For); err != nil || d <= 0 {
						t.Errorf("%s: for: %q is not a duration", r.Alert, r.For)
					}
				}
				if sev := r.Labels["severity"]; sev != "warning" && sev != "critical" {
					t.Errorf("%s: severity %q, want warning or critical", r.Alert, sev)
				}
				if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
					t.Errorf("%s: needs a summary and a description", r.Alert)
				}

				names := carrelMetric.FindAllString(r.Expr, -1)
				for _, name := range names {
					if len(named(name)) == 0 {
						t.Errorf("%s: %s is not on /metrics", r.Alert, name)
					}
				}
				for _, sel := range selector.FindAllStringSubmatch(r.Expr, -1) {
					for _, m := range matcher.FindAllStringSubmatch(sel[2], -1) {
						label, op, value := m[1], m[2], m[3]
						match := func(s series) bool {
							v, ok := s.labels[label]
							switch op {
							case "=":
								return ok && v == value
							case "=~":
								return ok && regexp.MustCompile("^(?:"+value+")$").MatchString(v)
							}
							return ok
						}
						if !slices.ContainsFunc(named(sel[1]), match) {
							t.Errorf("%s: no series %s{%s%s%q} on /metrics", r.Alert, sel[1], label, op, value)
						}
					}
				}
				// The labels a rule groups by, or names in its annotations,
				// must be on the carrel metrics it reads.
				var labels []string
				for _, m := range byLabels.FindAllStringSubmatch(r.Expr, -1) {
					for l := range strings.SplitSeq(m[1], ",") {
						labels = append(labels, strings.TrimSpace(l))
					}
				}
				for _, text := range r.Annotations {
					for _, m := range templateLabel.FindAllStringSubmatch(text, -1) {
						if m[1] != "instance" && m[1] != "job" { // Prometheus adds these to every series
							labels = append(labels, m[1])
						}
					}
				}
				for _, l := range labels {
					for _, name := range names {
						if !slices.ContainsFunc(named(name), func(s series) bool { _, ok := s.labels[l]; return ok }) {
							t.Errorf("%s: %s has no label %q", r.Alert, name, l)
						}
					}
				}
			}
		}
	})
}
