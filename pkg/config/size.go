package config

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ParseSize parses a byte size: a non-negative number, optionally with a
// fraction, and an optional unit, case-insensitive and optionally after
// spaces:
//
//	B                    bytes (also no unit at all)
//	KB, MB, GB, TB       powers of 1000
//	KiB, MiB, GiB, TiB   powers of 1024
//
// "256KiB", "5MiB", "1.5GB" and "65536" are sizes. Single-letter units
// such as "64k" are refused as ambiguous, as are negative sizes, sizes that
// are not a whole number of bytes ("1.5B") and sizes beyond int64.
func ParseSize(s string) (int64, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, err)
	}
	return n, nil
}

// sizeHint is how size errors end: what a valid size looks like.
const sizeHint = "want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB"

// parseSize is ParseSize with errors that do not repeat s, so that callers
// can leave out values that may be secret.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty; " + sizeHint)
	}
	if t[0] == '-' {
		return 0, errors.New("a size must not be negative")
	}
	t = strings.TrimPrefix(t, "+")
	end := 0
	for end < len(t) && (isDigit(t[end]) || t[end] == '.') {
		end++
	}
	num, unit := t[:end], strings.TrimLeft(t[end:], " ")
	if num == "" || num == "." || strings.Count(num, ".") > 1 || num[0] == '.' || num[len(num)-1] == '.' {
		return 0, errors.New(sizeHint)
	}
	var mult int64
	switch strings.ToLower(unit) {
	case "", "b":
		mult = 1
	case "kb":
		mult = 1000
	case "mb":
		mult = 1000 * 1000
	case "gb":
		mult = 1000 * 1000 * 1000
	case "tb":
		mult = 1000 * 1000 * 1000 * 1000
	case "kib":
		mult = 1 << 10
	case "mib":
		mult = 1 << 20
	case "gib":
		mult = 1 << 30
	case "tib":
		mult = 1 << 40
	case "k", "m", "g", "t":
		u := strings.ToUpper(unit)
		return 0, fmt.Errorf("ambiguous unit %q: write %sB for powers of 1000 or %siB for powers of 1024", unit, u, u)
	default:
		return 0, fmt.Errorf("unknown unit %q; %s", unit, sizeHint)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, errors.New(sizeHint)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	if !r.IsInt() {
		return 0, errors.New("not a whole number of bytes")
	}
	if !r.Num().IsInt64() {
		return 0, errors.New("too large")
	}
	return r.Num().Int64(), nil
}

// FormatSize formats n bytes the way sizes are written in configuration
// files: with the largest binary unit that divides it, else in bytes.
func FormatSize(n int64) string {
	units := []string{"TiB", "GiB", "MiB", "KiB"}
	for i, u := range units {
		m := int64(1) << (10 * (len(units) - i))
		if n != 0 && n%m == 0 {
			return fmt.Sprintf("%d%s", n/m, u)
		}
	}
	return fmt.Sprintf("%dB", n)
}
