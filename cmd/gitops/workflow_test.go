package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// scheduledWorkflow is what TestRolloutRunsOnASchedule reads of a workflow.
type scheduledWorkflow struct {
	On struct {
		Schedule         []map[string]string `yaml:"schedule"`
		WorkflowDispatch struct {
			Inputs map[string]any `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Concurrency struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
}

// TestRolloutRunsOnASchedule: something runs gitops rollout — on a
// schedule and by hand (with --now) — in publish's concurrency group, so
// the later waves move without anyone remembering to.
func TestRolloutRunsOnASchedule(t *testing.T) {
	read := func(name string) (scheduledWorkflow, string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(repoRoot, ".github", "workflows", name))
		if err != nil {
			t.Fatal(err)
		}
		var w scheduledWorkflow
		if err := yaml.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return w, string(b)
	}
	rollout, text := read("rollout.yml")
	publish, _ := read("publish.yml")
	if len(rollout.On.Schedule) == 0 || rollout.On.Schedule[0]["cron"] == "" {
		t.Error("rollout.yml has no schedule")
	}
	if _, ok := rollout.On.WorkflowDispatch.Inputs["now"]; !ok {
		t.Error("rollout.yml cannot be run by hand with --now")
	}
	if rollout.Concurrency.Group == "" || rollout.Concurrency.Group != publish.Concurrency.Group || rollout.Concurrency.CancelInProgress {
		t.Errorf("rollout.yml's concurrency %+v, want publish's group %q, never cancelled", rollout.Concurrency, publish.Concurrency.Group)
	}
	if !strings.Contains(text, "bin/gitops rollout --env") {
		t.Error("rollout.yml does not run gitops rollout")
	}
}
