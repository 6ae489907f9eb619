package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration file, at a position.
type Problem struct {
	Pos Pos
	Msg string
}

// Error formats the problem as "file:line:col: message".
func (p Problem) Error() string { return p.Pos.String() + ": " + p.Msg }

// Problems is a list of problems. As an error it prints one problem per
// line; functions of this package return it sorted by file, line, column.
type Problems []Problem

// Error joins the problems with newlines.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when it is empty, so that an empty list
// never becomes a non-nil error interface.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Sort orders ps by file, line and column; problems at the same place keep
// the order in which they were found.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
		)
	})
}

// add records a problem at pos.
func (ps *Problems) add(pos Pos, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}
