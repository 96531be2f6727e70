//go:build tools

// Package tools pins Alertmanager at the version the environments' images
// run (prom/alertmanager v0.28.1), for make programs.
package tools

import _ "github.com/prometheus/alertmanager/cmd/alertmanager"
