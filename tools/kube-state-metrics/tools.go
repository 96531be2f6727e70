//go:build tools

// Package tools pins kube-state-metrics at the version the environments'
// images run (v2.15.0), for make programs.
package tools

import _ "k8s.io/kube-state-metrics/v2"
