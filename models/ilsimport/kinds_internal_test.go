package ilsimport

import (
	"testing"

	"github.com/carrel-library/carrel/models"
)

// TestEveryImportedCategoryHasAKind checks the import against the
// category descriptors: a descriptor that names an import kind has one,
// writing the category's table with the columns derived from it, and
// every kind but patrons writes a category's table.
func TestEveryImportedCategoryHasAKind(t *testing.T) {
	tables := map[string]bool{}
	for _, c := range models.Categories() {
		if c.Import == nil {
			continue
		}
		tables[c.Table] = true
		if c.Import.Kind == "" {
			continue
		}
		spec, ok := importSpecs[Kind(c.Import.Kind)]
		switch {
		case !ok:
			t.Errorf("%s names import kind %q, which the import does not know", c.Slug, c.Import.Kind)
		case spec.table.name != c.Table:
			t.Errorf("import kind %s writes %s, but its category %s lives in %s", c.Import.Kind, spec.table.name, c.Slug, c.Table)
		case len(spec.table.cols) != len(spec.build(&parsedRow{spec: spec, vals: make([]fieldValue, len(spec.fields))}, 1)):
			t.Errorf("import kind %s builds rows of another width than its table", c.Import.Kind)
		}
	}
	for kind, spec := range importSpecs {
		if kind != Patrons && !tables[spec.table.name] {
			t.Errorf("import kind %s writes %s, which no category's descriptor maps", kind, spec.table.name)
		}
	}
}
