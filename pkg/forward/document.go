package forward

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/logmeter/logmeter/pkg/logline"
)

// docID is the document's _id: a hash of the file's identity and the line's
// offset, so a line sent twice (a retry, a restart before the checkpoint)
// overwrites itself instead of duplicating.
func docID(l *logline.Line) string {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], l.File.Dev)
	binary.LittleEndian.PutUint64(b[8:], l.File.Ino)
	binary.LittleEndian.PutUint64(b[16:], l.File.Head)
	binary.LittleEndian.PutUint64(b[24:], uint64(l.Offset))
	sum := sha256.Sum256(b[:])
	return base64.RawURLEncoding.EncodeToString(sum[:15]) // 20 characters
}

// textID is the _id of a line that carries its own identity: a hash of its
// text alone.
func textID(l *logline.Line) string {
	sum := sha256.Sum256(l.Text)
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// appendEmbedded adds text, when it is a JSON object, to the document that
// ends dst, under the nested keys of path.
func appendEmbedded(dst []byte, path []string, text []byte) []byte {
	trimmed := bytes.TrimSpace(text)
	// Invalid UTF-8 passes json.Valid but not Elasticsearch.
	if len(trimmed) == 0 || trimmed[0] != '{' || !utf8.Valid(trimmed) || !json.Valid(trimmed) {
		return dst
	}
	dst = dst[:len(dst)-1] // the document's closing brace
	for i, key := range path {
		if i == 0 {
			dst = append(dst, ',')
		} else {
			dst = append(dst, '{')
		}
		dst = appendJSONString(dst, []byte(key))
		dst = append(dst, ':')
	}
	dst = append(dst, trimmed...)
	for range path[1:] {
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// Capture is one named capture of a rule that matched the line.
type Capture struct{ Name, Value string }

// appendDocument writes the ECS document for l. ts is the event time (the
// container runtime's, else the read time); host is the node's name.
func appendDocument(dst []byte, l *logline.Line, ts time.Time, host, capturesKey string, captures []Capture) []byte {
	dst = append(dst, `{"@timestamp":"`...)
	dst = ts.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","message":`...)
	dst = appendJSONString(dst, l.Text)
	if l.Stream != "" {
		dst = append(dst, `,"stream":`...)
		dst = appendJSONString(dst, []byte(l.Stream))
	}
	dst = append(dst, `,"log":{"file":{"path":`...)
	dst = appendJSONString(dst, []byte(l.Source))
	dst = append(dst, `},"offset":`...)
	dst = strconv.AppendInt(dst, l.Offset, 10)
	dst = append(dst, '}')
	if l.Input != "" {
		dst = append(dst, `,"event":{"dataset":`...)
		dst = appendJSONString(dst, []byte(l.Input))
		dst = append(dst, '}')
	}
	if host != "" {
		dst = append(dst, `,"host":{"name":`...)
		dst = appendJSONString(dst, []byte(host))
		dst = append(dst, '}')
	}
	if k := l.Kube; k != nil {
		dst = append(dst, `,"kubernetes":{"namespace":`...)
		dst = appendJSONString(dst, []byte(k.Namespace))
		dst = append(dst, `,"pod":{"name":`...)
		dst = appendJSONString(dst, []byte(k.Pod))
		if k.PodUID != "" {
			dst = append(dst, `,"uid":`...)
			dst = appendJSONString(dst, []byte(k.PodUID))
		}
		dst = append(dst, `},"container":{"name":`...)
		dst = appendJSONString(dst, []byte(k.Container))
		dst = append(dst, '}')
		if k.Node != "" {
			dst = append(dst, `,"node":{"name":`...)
			dst = appendJSONString(dst, []byte(k.Node))
			dst = append(dst, '}')
		}
		if len(k.Labels) > 0 {
			dst = append(dst, `,"labels":{`...)
			keys := make([]string, 0, len(k.Labels))
			for key := range k.Labels {
				keys = append(keys, key)
			}
			slices.Sort(keys)
			for i, key := range keys {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendJSONString(dst, []byte(key))
				dst = append(dst, ':')
				dst = appendJSONString(dst, []byte(k.Labels[key]))
			}
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	if capturesKey != "" && len(captures) > 0 {
		dst = append(dst, ',')
		dst = appendJSONString(dst, []byte(capturesKey))
		dst = append(dst, ":{"...)
		for i, c := range captures {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, []byte(c.Name))
			dst = append(dst, ':')
			dst = appendJSONString(dst, []byte(c.Value))
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string. Invalid UTF-8 becomes U+FFFD
// (Elasticsearch rejects it otherwise); log lines may hold any byte.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
