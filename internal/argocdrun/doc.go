// Package argocdrun is the loopback plumbing that lets a real Argo CD
// (application-controller and repo-server, built by make argocd) sync the
// rendered branch exactly as published — real repoURL, real AKS server URLs
// — on one machine with no network: an HTTP CONNECT proxy that sends
// github.com to a local git http-backend and each AKS host to its own
// kube-apiserver, with the servers started and stopped by package servers.
//
// The test in this package (run by scripts/argocd.sh) drives it; the
// package holds no Argo CD logic of its own.
package argocdrun
