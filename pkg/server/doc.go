// Package server owns logmeter's HTTP endpoint: /metrics, /healthz, /readyz
// and a landing page, all served through exporter-toolkit so that one web
// config file sets TLS and basic auth for every route alike.
//
// Basic auth, when the web config enables it, also covers /healthz and
// /readyz: exporter-toolkit has no per-path exemption and logmeter does not
// hand-roll one. Kubernetes probes then either send the credentials
// (httpGet.httpHeaders with an "Authorization: Basic ..." header, and
// scheme: HTTPS when TLS is on) or use a tcpSocket probe instead.
package server
