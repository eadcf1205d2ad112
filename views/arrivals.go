package views

// ArrivalsView is the staff page of new arrivals: the CSV upload form and
// the arrivals added last.
type ArrivalsView struct {
	Rows []ArrivalRow
	// FileError is a problem with the upload as a whole (no file, too
	// large); Problems are the file's bad lines, "Line 4, date: …".
	FileError string
	Problems  []string
	// MoreProblems counts the problems not listed.
	MoreProblems int
	Separator    string
	MaxItems     int
	MaxMB        int
	// NoticeDays is how long a notice is kept after it is sent.
	NoticeDays int
}

// HasErrors reports whether the upload was refused.
func (v ArrivalsView) HasErrors() bool { return v.FileError != "" || len(v.Problems) > 0 }

// ArrivalRow is one recent arrival. Notices is a count, never who.
type ArrivalRow struct {
	Title, Authors, Format, Arrived, CatalogURL, Added string
	Notices                                            int64
}
