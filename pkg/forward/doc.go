// Package forward ships every raw log line, as an Elastic Common Schema
// document, to Elasticsearch (or a compatible server) through the Bulk API.
// It reads the files with its own cursor, so a slow or dead cluster holds
// back only this path, never the metrics.
package forward
