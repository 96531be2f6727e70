package main

import (
	"os"
	"strings"
	"testing"
)

// TestTableIsCurrent: the committed table is what the generator writes
// from the API modules go.mod pins, so bumping k8s.io/api without
// regenerating fails here.
func TestTableIsCurrent(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../required_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("generator/schema/required_gen.go is stale: run go generate ./generator/schema")
	}
}

// TestOpenAPIRule: openapi-gen's rule, on the fields it is about.
func TestOpenAPIRule(t *testing.T) {
	src, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"k8s.io/api/apps/v1.DeploymentSpec": {"selector", "template"}`, // no omitempty
		`"k8s.io/api/core/v1.Container": {"name"}`,                      // image is omitempty
	} {
		if !contains(string(src), want) {
			t.Errorf("table lacks %s", want)
		}
	}
	// +optional without omitempty: an empty podSelector selects every pod.
	if contains(string(src), `"k8s.io/api/networking/v1.NetworkPolicySpec"`) {
		t.Error("NetworkPolicySpec.podSelector is +optional, yet listed")
	}
}

// contains ignores gofmt's alignment.
func contains(s, sub string) bool {
	return strings.Contains(strings.Join(strings.Fields(s), " "), sub)
}
