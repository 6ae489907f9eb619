package metrics

import (
	"math"
	"strconv"
	"testing"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		in     string
		want   float64
		wantOK bool
	}{
		{"0", 0, true},
		{"42", 42, true},
		{"-17", -17, true},
		{"+3", 3, true},
		{"  12.5\t", 12.5, true},
		{"0.001", 0.001, true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"007", 7, true},
		{"1e3", 1000, true},
		{"1.5E-3", 0.0015, true},
		{"-2.5e+2", -250, true},
		{"123456789012345678901234567890", 123456789012345678901234567890, true},
		{"0.1234567890123456789", 0.1234567890123456789, true},
		{"1e-30", 1e-30, true},
		{"1.7976931348623157e308", math.MaxFloat64, true},
		{"", 0, false},
		{"   ", 0, false},
		{"-", 0, false},
		{".", 0, false},
		{"1e", 0, false},
		{"1e+", 0, false},
		{"e5", 0, false},
		{"1.2.3", 0, false},
		{"12a", 0, false},
		{"1,5", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"-Infinity", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{"1e400", 0, false},
		{"--1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseValue([]byte(tt.in))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("ParseValue(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// The fast path must agree with strconv on every number it accepts.
func TestParseValueMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0.1", "0.3", "2.675", "1.005", "123.456", "999999999999999", "9007199254740993",
		"4.35", "0.000001", "3.14159265358979", "1e22", "1e23", "8.5e-22", "12345678.87654321"} {
		got, ok := ParseValue([]byte(s))
		want, _ := strconv.ParseFloat(s, 64)
		if !ok || got != want {
			t.Errorf("ParseValue(%q) = %v, %v; strconv gives %v", s, got, ok, want)
		}
	}
}

func TestParseValueAllocs(t *testing.T) {
	for _, s := range []string{"123.25", "0.1234567890123456789", "1e-30", "oops"} {
		b := []byte(s)
		if n := testing.AllocsPerRun(100, func() { ParseValue(b) }); n != 0 {
			t.Errorf("ParseValue(%q): %v allocs, want 0", s, n)
		}
	}
}

func BenchmarkParseValue(b *testing.B) {
	for _, s := range []string{"200", "0.123", "12345.678901234567"} {
		b.Run(s, func(b *testing.B) {
			in := []byte(s)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := ParseValue(in); !ok {
					b.Fatal("rejected")
				}
			}
		})
	}
}
