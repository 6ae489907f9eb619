// Package kube attaches Kubernetes pod metadata (namespace, pod, container,
// labels) to log lines: from the API server when it is reachable, and from
// kubelet's log file names otherwise.
package kube
