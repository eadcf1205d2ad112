package kohatest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// prop is one property of Koha's patron definition
// (api/v1/swagger/definitions/patron.yaml).
type prop struct {
	types    []string // JSON Schema types: string, integer, boolean, number, object, array, null
	readOnly bool
	format   string // date, date-time
	maxLen   int
	enum     []string
	embed    bool // only an x-koha-embed returns it; not a column Koha can set
}

var (
	str     = prop{types: []string{"string", "null"}}
	strOnly = prop{types: []string{"string"}}
)

// patronSpec is the patron definition as Koha's spec has it: what PUT
// accepts (additionalProperties: false), which are readOnly, and the
// required ones.
var patronSpec = map[string]prop{
	"patron_id":                   {types: []string{"integer"}},
	"cardnumber":                  str,
	"surname":                     str,
	"firstname":                   str,
	"preferred_name":              str,
	"middle_name":                 str,
	"title":                       str,
	"other_name":                  str,
	"initials":                    str,
	"pronouns":                    str,
	"street_number":               str,
	"street_type":                 str,
	"address":                     str,
	"address2":                    str,
	"city":                        str,
	"state":                       str,
	"postal_code":                 str,
	"country":                     str,
	"email":                       str,
	"phone":                       str,
	"mobile":                      str,
	"fax":                         str,
	"secondary_email":             str,
	"secondary_phone":             str,
	"altaddress_street_number":    str,
	"altaddress_street_type":      str,
	"altaddress_address":          str,
	"altaddress_address2":         str,
	"altaddress_city":             str,
	"altaddress_state":            str,
	"altaddress_postal_code":      str,
	"altaddress_country":          str,
	"altaddress_email":            str,
	"altaddress_phone":            str,
	"date_of_birth":               {types: []string{"string", "null"}, format: "date"},
	"library_id":                  {types: []string{"string"}, maxLen: 10},
	"category_id":                 {types: []string{"string"}, maxLen: 10},
	"date_enrolled":               {types: []string{"string", "null"}, format: "date"},
	"expiry_date":                 {types: []string{"string", "null"}, format: "date"},
	"date_renewed":                {types: []string{"string", "null"}, format: "date"},
	"incorrect_address":           {types: []string{"boolean", "null"}},
	"patron_card_lost":            {types: []string{"boolean", "null"}},
	"expired":                     {types: []string{"boolean"}, readOnly: true},
	"restricted":                  {types: []string{"boolean"}, readOnly: true},
	"staff_notes":                 str,
	"relationship_type":           {types: []string{"string", "null"}, maxLen: 100},
	"gender":                      {types: []string{"string", "null"}, maxLen: 1},
	"userid":                      str,
	"opac_notes":                  str,
	"altaddress_notes":            {types: []string{"string", "null"}, maxLen: 255},
	"statistics_1":                {types: []string{"string", "null"}, maxLen: 80},
	"statistics_2":                {types: []string{"string", "null"}, maxLen: 80},
	"autorenew_checkouts":         {types: []string{"boolean"}},
	"altcontact_firstname":        str,
	"altcontact_surname":          str,
	"altcontact_address":          str,
	"altcontact_address2":         str,
	"altcontact_city":             str,
	"altcontact_state":            str,
	"altcontact_postal_code":      str,
	"altcontact_country":          str,
	"altcontact_phone":            str,
	"sms_number":                  {types: []string{"string", "null"}, maxLen: 50},
	"sms_provider_id":             {types: []string{"integer", "null"}},
	"privacy":                     {types: []string{"integer"}},
	"privacy_guarantor_checkouts": {types: []string{"boolean"}},
	"privacy_guarantor_fines":     {types: []string{"boolean"}},
	"check_previous_checkout":     {types: []string{"string"}, enum: []string{"yes", "no", "inherit"}},
	"updated_on":                  {types: []string{"string"}, format: "date-time"},
	"last_seen":                   {types: []string{"string", "null"}, format: "date-time"},
	"lang":                        strOnly,
	"login_attempts":              {types: []string{"integer", "null"}},
	"overdrive_auth_token":        str,
	"anonymized":                  {types: []string{"boolean"}, readOnly: true},
	"extended_attributes":         {types: []string{"array"}, embed: true},
	"checkouts_count":             {types: []string{"integer", "null"}, embed: true},
	"overdues_count":              {types: []string{"integer", "null"}, embed: true},
	"account_balance":             {types: []string{"number", "null"}, embed: true},
	"library":                     {types: []string{"object", "null"}, embed: true},
	"protected":                   {types: []string{"boolean"}},
	"_strings":                    {types: []string{"object", "null"}, embed: true},
}

var patronRequired = []string{"surname", "library_id", "category_id"}

// validationError is one entry of the 400 Koha's OpenAPI validator
// (JSON::Validator under Mojolicious::Plugin::OpenAPI) answers.
type validationError struct {
	Message string `json:"message"`
	Path    string `json:"path"`
}

var (
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	dateTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
)

// validatePatronBody checks a PUT body the way Koha's validator does for
// a request: readOnly properties are "Read-only.", unknown ones are "not
// allowed", required ones must be there, and each must have its type.
func validatePatronBody(body map[string]any) []validationError {
	var errs []validationError
	var extra []string
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := patronSpec[k]
		if !ok {
			extra = append(extra, k)
			continue
		}
		path := "/body/" + k
		if p.readOnly {
			errs = append(errs, validationError{"Read-only.", path})
			continue
		}
		if msg := checkType(p, body[k]); msg != "" {
			errs = append(errs, validationError{msg, path})
		}
	}
	if len(extra) > 0 {
		errs = append(errs, validationError{"Properties not allowed: " + strings.Join(extra, ", ") + ".", "/body"})
	}
	for _, k := range patronRequired {
		if _, ok := body[k]; !ok {
			errs = append(errs, validationError{"Missing property.", "/body/" + k})
		}
	}
	return errs
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func checkType(p prop, v any) string {
	got := jsonType(v)
	ok := false
	for _, t := range p.types {
		if t == got || (t == "number" && got == "integer") {
			ok = true
		}
	}
	if !ok {
		return fmt.Sprintf("Expected %s - got %s.", strings.Join(p.types, "/"), got)
	}
	s, isStr := v.(string)
	if !isStr {
		return ""
	}
	switch p.format {
	case "date":
		if !dateRE.MatchString(s) {
			return "Does not match date format."
		}
	case "date-time":
		if !dateTimeRE.MatchString(s) {
			return "Does not match date-time format."
		}
	}
	if p.maxLen > 0 && utf8.RuneCountInString(s) > p.maxLen {
		return fmt.Sprintf("String is too long: %d/%d.", utf8.RuneCountInString(s), p.maxLen)
	}
	if len(p.enum) > 0 {
		for _, e := range p.enum {
			if e == s {
				return ""
			}
		}
		return "Not in enum list: " + strings.Join(p.enum, ", ") + "."
	}
	return ""
}
