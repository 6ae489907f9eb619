// Package monitoringtest holds only tests: they check the example Grafana
// dashboards (examples/dashboards) and Prometheus alerting rules
// (examples/alerts) against the metrics logmeter actually exposes, so that
// renaming a metric or a shipped rule cannot silently leave them behind.
package monitoringtest
