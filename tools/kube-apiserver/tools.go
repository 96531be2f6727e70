//go:build tools

// Package tools pins kube-apiserver for make e2e.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
