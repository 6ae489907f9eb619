package tail

import (
	"testing"

	"github.com/logmeter/logmeter/pkg/logline"
)

// accessLog is a typical nginx access line of about 150 bytes.
const accessLog = `10.42.0.17 - - [01/May/2024:12:00:00 +0000] "GET /api/v1/orders/1234?expand=items HTTP/1.1" 200 5123 "-" "curl/8.5.0" 0.012`

type benchInput struct {
	name   string
	format Format
	lines  [][]byte
}

func benchLines() []benchInput {
	plain := []byte(accessLog)
	cri := []byte("2024-05-01T12:00:00.123456789Z stdout F " + accessLog)
	docker := []byte(`{"log":"10.42.0.17 - - [01/May/2024:12:00:00 +0000] \"GET /api/v1/orders/1234?expand=items HTTP/1.1\" 200 5123 \"-\" \"curl/8.5.0\" 0.012\n","stream":"stdout","time":"2024-05-01T12:00:00.123456789Z"}`)
	return []benchInput{
		{"Plain", FormatPlain, [][]byte{plain}},
		{"CRI", FormatCRI, [][]byte{cri}},
		{"Docker", FormatDocker, [][]byte{docker}},
		{"Auto", FormatAuto, [][]byte{plain, cri, docker}},
	}
}

func benchDecode(b *testing.B, name string) {
	for _, bl := range benchLines() {
		if bl.name != name {
			continue
		}
		var size int
		for _, l := range bl.lines {
			size += len(l)
		}
		d := NewDecoder(bl.format, 0)
		var out logline.Line
		b.SetBytes(int64(size / len(bl.lines)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if done, _ := d.Decode(bl.lines[i], 0, &out); !done {
				b.Fatal("line not delivered")
			}
			if i++; i == len(bl.lines) {
				i = 0
			}
		}
	}
}

func BenchmarkDecodePlain(b *testing.B)  { benchDecode(b, "Plain") }
func BenchmarkDecodeCRI(b *testing.B)    { benchDecode(b, "CRI") }
func BenchmarkDecodeDocker(b *testing.B) { benchDecode(b, "Docker") }
func BenchmarkDecodeAuto(b *testing.B)   { benchDecode(b, "Auto") }

// BenchmarkDecodeCRIPartial measures joining a line split into four fragments.
func BenchmarkDecodeCRIPartial(b *testing.B) {
	frags := [][]byte{
		[]byte("2024-05-01T12:00:00.123456789Z stdout P " + accessLog[:40]),
		[]byte("2024-05-01T12:00:00.123456789Z stdout P " + accessLog[40:80]),
		[]byte("2024-05-01T12:00:00.123456789Z stdout P " + accessLog[80:120]),
		[]byte("2024-05-01T12:00:00.123456789Z stdout F " + accessLog[120:]),
	}
	d := NewDecoder(FormatCRI, 0)
	var out logline.Line
	b.SetBytes(int64(len(accessLog)))
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range frags {
			d.Decode(f, 0, &out)
		}
	}
}
