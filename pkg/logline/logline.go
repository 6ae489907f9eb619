// Package logline defines the unit that flows through logmeter's pipeline:
// one decoded log line together with where it came from.
package logline

import "time"

// Line is one logical log line after decoding (CRI/docker partials joined,
// multiline records assembled). Text is only valid until the producer
// delivers the next line; consumers that keep it must copy it.
type Line struct {
	Text   []byte    // message without the trailing newline
	Time   time.Time // container runtime timestamp; zero when the format has none
	Stream string    // "stdout" or "stderr" for CRI/docker lines, else ""
	Input  string    // name of the configured input that produced the line
	Source string    // path of the file the line was read from
	Offset int64     // byte offset in Source of the first physical line
	File   FileRef   // which file, independently of its name
	Kube   *Kube     // pod metadata; nil when unknown
}

// FileRef identifies the file a line came from across renames and
// restarts: device and inode, plus a hash of the file's first line, which
// tells apart files that reuse an inode. With Offset it names a line
// uniquely, which makes retried deliveries idempotent.
type FileRef struct {
	Dev, Ino, Head uint64
}

// Kube is the Kubernetes metadata of the container that wrote a line.
type Kube struct {
	Namespace string
	Pod       string
	PodUID    string
	Container string
	Node      string
	Labels    map[string]string
}
