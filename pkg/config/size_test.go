package config

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"0", 0, ""},
		{"65536", 65536, ""},
		{"+10", 10, ""},
		{"100B", 100, ""},
		{"100 b", 100, ""},
		{"256KiB", 256 << 10, ""},
		{"256kib", 256 << 10, ""},
		{"5MiB", 5 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{"2TiB", 2 << 40, ""},
		{"10KB", 10000, ""},
		{"10kB", 10000, ""},
		{"5MB", 5000000, ""},
		{"1GB", 1000000000, ""},
		{"1TB", 1000000000000, ""},
		{"1.5KiB", 1536, ""},
		{"0.5MB", 500000, ""},
		{" 5MiB ", 5 << 20, ""},
		{"8388607TiB", 8388607 << 40, ""},
		{"", 0, `invalid size "": empty; want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`},
		{"-1", 0, `invalid size "-1": a size must not be negative`},
		{"-5MiB", 0, `invalid size "-5MiB": a size must not be negative`},
		{"64k", 0, `invalid size "64k": ambiguous unit "k": write KB for powers of 1000 or KiB for powers of 1024`},
		{"1M", 0, `invalid size "1M": ambiguous unit "M": write MB for powers of 1000 or MiB for powers of 1024`},
		{"5 furlongs", 0, `invalid size "5 furlongs": unknown unit "furlongs"; want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`},
		{"MiB", 0, `invalid size "MiB": want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`},
		{"1.5B", 0, `invalid size "1.5B": not a whole number of bytes`},
		{"1.5", 0, `invalid size "1.5": not a whole number of bytes`},
		{"1..5KB", 0, `invalid size "1..5KB": want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`},
		{".5KB", 0, `invalid size ".5KB": want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`},
		{"5.KB", 0, `invalid size "5.KB": want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`},
		{"1e3", 0, `invalid size "1e3": unknown unit "e3"; want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`},
		{"0x10", 0, `invalid size "0x10": unknown unit "x10"; want a number of bytes with an optional unit, such as 65536, 256KiB, 5MiB, 1GiB or 10MB`},
		{"8388608TiB", 0, `invalid size "8388608TiB": too large`},
		{"99999999999999999999", 0, `invalid size "99999999999999999999": too large`},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.wantErr {
			t.Errorf("ParseSize(%q) = %d, %q; want %d, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0B"},
		{1000, "1000B"},
		{1024, "1KiB"},
		{1536, "1536B"},
		{5 << 20, "5MiB"},
		{3 << 30, "3GiB"},
		{1 << 40, "1TiB"},
		{1<<40 + 1<<30, "1025GiB"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.in); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
		if back, err := ParseSize(FormatSize(tt.in)); err != nil || back != tt.in {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", tt.in, back, err)
		}
	}
}
