package metrics

import (
	"math"
	"strconv"
	"unsafe"
)

// ParseValue parses a captured metric value without allocating. It accepts
// a decimal number with optional sign, fraction and exponent ("42", "-1.5",
// "+.5", "3e-3"), ignoring surrounding spaces and tabs. It rejects
// everything else, including NaN, infinities, hexadecimal and values out of
// float64 range: such values would poison a counter or a sum for good.
func ParseValue(b []byte) (float64, bool) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	i, neg := 0, false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var mant uint64
	digits, scale, sawDigit := 0, 0, false
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		sawDigit = true
		if mant == 0 && b[i] == '0' {
			continue // leading zeros carry no precision
		}
		digits++
		mant = mant*10 + uint64(b[i]-'0')
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			sawDigit = true
			scale--
			if mant == 0 && b[i] == '0' {
				continue
			}
			digits++
			mant = mant*10 + uint64(b[i]-'0')
		}
	}
	if !sawDigit {
		return 0, false
	}
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		if i == len(b) {
			return 0, false
		}
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if exp < 10000 {
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(b) {
		return 0, false
	}
	exp += scale
	// Exact when the mantissa fits a float64 and the power of ten is
	// exact (10^22 is the largest): one correctly rounded operation.
	if digits <= 15 && exp >= -22 && exp <= 22 {
		f := float64(mant)
		if exp < 0 {
			f /= math.Pow10(-exp)
		} else {
			f *= math.Pow10(exp)
		}
		if neg {
			f = -f
		}
		return f, true
	}
	// b holds only digits, signs, '.' and 'e' here, so strconv cannot
	// accept NaN, Inf or hexadecimal; on success it keeps no reference to
	// the string, so viewing b as a string without copying is safe.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
