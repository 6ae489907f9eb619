// Package metrics turns rule matches into Prometheus metrics: families of
// counters, gauges, histograms and summaries with series caps and expiry,
// the label and value templates of rule files, and logmeter's self-metrics.
package metrics
