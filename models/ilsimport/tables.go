package ilsimport

import (
	"fmt"
	"reflect"
	"sync"
	"time"

	"gorm.io/gorm/schema"

	"github.com/carrel-library/carrel/models"
)

// What the import writes into a category's table comes from the
// category's descriptor (models.Category.Import): the columns are its
// model's, all but id, in the struct's order; each column's PostgreSQL
// array type follows from its Go type, and its value from the file field
// it is read from. Only the patrons table, which is no category's own, is
// spelled out (patronsTable).

// tableOf is the table an import writes for the category whose records
// live in table. It panics at start when no descriptor maps one.
func tableOf(table string) *tableSpec {
	for _, c := range models.Categories() {
		if c.Table != table || c.Import == nil {
			continue
		}
		sch, err := schema.Parse(c.Import.Model, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			panic(fmt.Sprintf("ilsimport: %s: %v", table, err))
		}
		t := &tableSpec{name: table}
		for _, f := range sch.Fields {
			if f.DBName == "" || f.DBName == "id" {
				continue
			}
			col := dbColumn{name: f.DBName, field: f.DBName, pg: pgType(f.FieldType), nullable: f.FieldType.Kind() == reflect.Pointer}
			if from, ok := c.Import.From[f.DBName]; ok {
				col.field = from
			}
			if col.pg == "" {
				panic(fmt.Sprintf("ilsimport: %s.%s: no array type for %s", table, f.DBName, f.FieldType))
			}
			t.cols = append(t.cols, col)
		}
		return t
	}
	panic("ilsimport: no category maps table " + table + " for the import")
}

// pgType is the PostgreSQL element type of a column of Go type t.
func pgType(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(time.Time{}):
		return "timestamptz"
	case t.Kind() == reflect.String:
		return "text"
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64:
		return "int8"
	case t.Kind() == reflect.Bool:
		return "bool"
	}
	return ""
}

// builderFor derives a kind's build from its table and fields: patron_id
// is the referenced patron's ID, every other column the value of its
// field, read as the column's type wants it. It panics at start when a
// column has no field, or a field of the wrong type.
func builderFor(s *importSpec) func(r *parsedRow, patronID int64) []any {
	get := make([]func(r *parsedRow, patronID int64) any, len(s.table.cols))
	for i, col := range s.table.cols {
		if col.name == "patron_id" {
			get[i] = func(_ *parsedRow, patronID int64) any { return patronID }
			continue
		}
		j, ok := s.idx[col.field]
		if !ok {
			panic(fmt.Sprintf("ilsimport: %s: no field %s for column %s", s.kind, col.field, col.name))
		}
		name, typ := col.field, s.fields[j].typ
		switch {
		case col.pg == "text" && typ != fTime && typ != fDeadline && typ != fDate && typ != fCount && typ != fMoney:
			get[i] = func(r *parsedRow, _ int64) any { return r.str(name) }
		case col.pg == "int8" && (typ == fCount || typ == fMoney):
			get[i] = func(r *parsedRow, _ int64) any { return r.num(name) }
		case col.pg == "timestamptz" && (typ == fTime || typ == fDeadline || typ == fDate) && col.nullable:
			get[i] = func(r *parsedRow, _ int64) any { return r.optTime(name) }
		case col.pg == "timestamptz" && (typ == fTime || typ == fDeadline || typ == fDate):
			get[i] = func(r *parsedRow, _ int64) any { return r.time(name) }
		default:
			panic(fmt.Sprintf("ilsimport: %s: field %s cannot fill column %s (%s)", s.kind, name, col.name, col.pg))
		}
	}
	return func(r *parsedRow, patronID int64) []any {
		out := make([]any, len(get))
		for i, g := range get {
			out[i] = g(r, patronID)
		}
		return out
	}
}

// historyFromLoan says where each reading_history column of a returned
// loan comes from: the loan's value in that column, or (-1) the time it
// was returned.
var historyFromLoan = func() []int {
	out := make([]int, len(historyTable.cols))
	for i, col := range historyTable.cols {
		if col.name == "returned_at" {
			out[i] = -1
			continue
		}
		out[i] = loansTable.col(col.name)
	}
	return out
}()
