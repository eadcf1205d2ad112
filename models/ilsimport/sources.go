package ilsimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ---------------------------------------------------------------------
// Reading the file.

// rowSource yields the lines of a file as values by field index.
type rowSource interface {
	// next returns the next line's number and values; ok is false at the
	// end. A line that cannot be read at all comes back as bad.
	next() (line int64, vals []string, bad *BadLine, ok bool, err error)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type csvSource struct {
	r    *csv.Reader
	cols []int // file column of each field, -1 when absent
	vals []string
}

func newCSVSource(r io.Reader, spec *importSpec) (*csvSource, []string, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, &FileError{"the file is empty: a CSV file starts with a header row naming its columns"}
	} else if err != nil {
		return nil, nil, &FileError{"the header row is not valid CSV: " + csvReason(err)}
	}
	header = append([]string(nil), header...)
	pos := map[string]int{}
	var notes []string
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // a byte-order mark, as spreadsheets write
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := pos[h]; dup {
			return nil, nil, &FileError{fmt.Sprintf("the header names the column %s twice", h)}
		}
		pos[h] = i
		if _, known := spec.idx[h]; !known {
			notes = append(notes, unknownColumnNote(h))
		}
	}
	s := &csvSource{r: cr, cols: make([]int, len(spec.fields)), vals: make([]string, len(spec.fields))}
	var missing []string
	for i, f := range spec.fields {
		p, ok := pos[f.name]
		if !ok {
			p = -1
			if f.required {
				missing = append(missing, f.name)
			} else if f.typ != fPIN {
				notes = append(notes, "no column "+f.name+": it is stored empty")
			}
		}
		s.cols[i] = p
	}
	if len(missing) > 0 {
		cols := "the required column "
		if len(missing) > 1 {
			cols = "the required columns "
		}
		return nil, nil, &FileError{"the header lacks " + cols + strings.Join(missing, ", ") +
			"; nothing was imported (see docs/import.md)"}
	}
	return s, notes, nil
}

func unknownColumnNote(name string) string {
	for _, p := range privacyColumns {
		if name == p {
			return "column " + name + " ignored: it is the patron's own choice, never taken from the ILS"
		}
	}
	return "column " + name + " ignored: not a column of this kind"
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "unreadable"
}

func (s *csvSource) next() (int64, []string, *BadLine, bool, error) {
	rec, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return 0, nil, nil, false, nil
	}
	if err != nil {
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return 0, nil, nil, false, fmt.Errorf("models: import: read: %w", err)
		}
		reason := "not valid CSV: " + pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			reason = "has a different number of fields than the header"
		}
		return int64(pe.StartLine), nil, &BadLine{Line: int64(pe.StartLine), Reason: reason}, true, nil
	}
	line, _ := s.r.FieldPos(0)
	for i, p := range s.cols {
		if p >= 0 {
			s.vals[i] = rec[p]
		} else {
			s.vals[i] = ""
		}
	}
	return int64(line), s.vals, nil, true, nil
}

type jsonlSource struct {
	r     *bufio.Reader
	spec  *importSpec
	line  int64
	vals  []string
	notes map[string]bool
	noted []string
}

// maxJSONLine bounds one line of a JSON Lines file.
const maxJSONLine = 1 << 20

func (s *jsonlSource) next() (int64, []string, *BadLine, bool, error) {
	for {
		raw, err := s.readLine()
		if raw == nil && err != nil {
			if errors.Is(err, io.EOF) {
				return 0, nil, nil, false, nil
			}
			return 0, nil, nil, false, fmt.Errorf("models: import: read: %w", err)
		}
		s.line++
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if len(raw) > maxJSONLine {
			return s.line, nil, &BadLine{Line: s.line, Reason: "longer than 1 MiB"}, true, nil
		}
		obj := map[string]any{}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return s.line, nil, &BadLine{Line: s.line, Reason: "not a JSON object"}, true, nil
		}
		if d.More() {
			return s.line, nil, &BadLine{Line: s.line, Reason: "more than one JSON value on the line"}, true, nil
		}
		for i := range s.vals {
			s.vals[i] = ""
		}
		for k, v := range obj {
			i, known := s.spec.idx[k]
			if !known {
				if !s.notes[k] {
					s.notes[k] = true
					s.noted = append(s.noted, unknownColumnNote(k))
				}
				continue
			}
			switch v := v.(type) {
			case nil:
			case string:
				s.vals[i] = v
			case json.Number:
				s.vals[i] = v.String()
			case bool:
				s.vals[i] = strconv.FormatBool(v)
			default:
				return s.line, nil, &BadLine{Line: s.line, Field: k, Reason: "not a plain value (a string, number or null)"}, true, nil
			}
		}
		return s.line, s.vals, nil, true, nil
	}
}

// readLine reads one line, however long (a too long one is reported by
// the caller, not held whole).
func (s *jsonlSource) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxJSONLine+1 {
			buf = append(buf, chunk...)
		} else if len(buf) <= maxJSONLine {
			buf = append(buf, make([]byte, maxJSONLine+1-len(buf))...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && len(buf) == 0 {
			return nil, err
		}
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}
