package forward

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// indexName turns an index pattern like "logstash-%{+yyyy.MM.dd}" into the
// index of a document with timestamp ts (UTC), as Logstash and Fluentd name
// daily indices. A pattern without %{+...} is a fixed name.
type indexName struct {
	parts []indexPart
	fixed bool
	// cache: the last day's name, since consecutive lines share it
	lastDay  int64
	lastName string
	hourly   bool
}

type indexPart struct {
	text   string
	format []dateToken // nil for text
}

type dateToken struct {
	kind  byte // y, M, d, H, m, s, w (ISO week), x (ISO week year), 0 literal
	width int
	lit   string
}

func parseIndexName(pattern string) (*indexName, error) {
	if pattern == "" {
		return nil, fmt.Errorf("index: empty name")
	}
	n := &indexName{lastDay: math.MinInt64}
	rest := pattern
	for rest != "" {
		i := strings.Index(rest, "%{+")
		if i < 0 {
			n.parts = append(n.parts, indexPart{text: rest})
			break
		}
		if i > 0 {
			n.parts = append(n.parts, indexPart{text: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("index %q: unterminated %%{+", pattern)
		}
		toks, err := parseDateFormat(rest[i+3 : i+j])
		if err == nil && len(toks) == 0 {
			err = fmt.Errorf("empty date format %%{+}")
		}
		if err != nil {
			return nil, fmt.Errorf("index %q: %w", pattern, err)
		}
		for _, t := range toks {
			if t.kind == 'H' || t.kind == 'm' || t.kind == 's' {
				n.hourly = true
			}
		}
		n.parts = append(n.parts, indexPart{format: toks})
		rest = rest[i+j+1:]
	}
	n.fixed = true
	for _, p := range n.parts {
		if p.format != nil {
			n.fixed = false
		}
	}
	return n, nil
}

func parseDateFormat(f string) ([]dateToken, error) {
	var toks []dateToken
	for i := 0; i < len(f); {
		c := f[i]
		j := i
		for j < len(f) && f[j] == c {
			j++
		}
		switch c {
		case 'y', 'Y', 'M', 'd', 'H', 'm', 's', 'w', 'x':
			if c == 'Y' {
				c = 'y'
			}
			toks = append(toks, dateToken{kind: c, width: j - i})
		case '.', '-', '_':
			toks = append(toks, dateToken{lit: f[i:j]})
		default:
			return nil, fmt.Errorf("unsupported date letter %q", c)
		}
		i = j
	}
	return toks, nil
}

// name returns the index for ts.
func (n *indexName) name(ts time.Time) string {
	if n.fixed {
		return n.parts[0].text
	}
	ts = ts.UTC()
	// Floored division: days (or minutes) before 1970 get keys of their own.
	per := int64(86400)
	if n.hourly {
		per = 60 // recomputed each minute at most
	}
	key := ts.Unix() / per
	if ts.Unix()%per < 0 {
		key--
	}
	if key == n.lastDay {
		return n.lastName
	}
	var b strings.Builder
	for _, p := range n.parts {
		if p.format == nil {
			b.WriteString(p.text)
			continue
		}
		for _, t := range p.format {
			if t.kind == 0 {
				b.WriteString(t.lit)
				continue
			}
			var v int
			switch t.kind {
			case 'y':
				v = ts.Year()
				if t.width == 2 {
					v %= 100
				}
			case 'M':
				v = int(ts.Month())
			case 'd':
				v = ts.Day()
			case 'H':
				v = ts.Hour()
			case 'm':
				v = ts.Minute()
			case 's':
				v = ts.Second()
			case 'w':
				_, v = ts.ISOWeek()
			case 'x':
				v, _ = ts.ISOWeek()
			}
			s := strconv.Itoa(v)
			for k := len(s); k < t.width; k++ {
				b.WriteByte('0')
			}
			b.WriteString(s)
		}
	}
	n.lastDay, n.lastName = key, b.String()
	return n.lastName
}
