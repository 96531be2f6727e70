//go:build tools

// Package tools pins Prometheus at the version the environments' images
// run (prom/prometheus v3.2.1 is module v0.302.1), for make programs
// (the server) and make promtool (its checker).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
