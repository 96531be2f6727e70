package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

func TestVerifyCommittedPlatformIsClean(t *testing.T) {
	root := platformCopy(t)
	code, stdout, stderr := gitops(t, "verify", "--root", root, "--today", "2026-11-23")
	if code != exitOK {
		t.Fatalf("exit %d, want 0:\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "0 violations") || !strings.Contains(stdout, "0 drifted files") {
		t.Errorf("summary:\n%s", stdout)
	}
}

type jsonReport struct {
	Violations int           `json:"violations"`
	Findings   []jsonFinding `json:"findings"`
	Drift      []struct {
		Path, Status, Kind, Namespace, Name string
		Changes                             []struct {
			Path     string
			Old, New any
		}
	} `json:"drift"`
}

// jsonFinding is a finding of verify --format json.
type jsonFinding struct {
	Rule, Level, File, Source string
}

func verifyJSON(t *testing.T, root string, extra ...string) (int, jsonReport) {
	t.Helper()
	code, stdout, stderr := gitops(t, append([]string{"verify", "--root", root, "--format", "json", "--today", "2026-11-23"}, extra...)...)
	if code == exitError {
		t.Fatalf("verify failed to run: %s", stderr)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout)
	}
	return code, rep
}

// TestVerifyDrift: editing one rendered file fails verify and names
// exactly that resource and field.
func TestVerifyDrift(t *testing.T) {
	root := platformCopy(t)
	gittest.Edit(t, root, "rendered/prod/weu-1/api/Service_api.yaml", "port: 80\n", "port: 8080\n")
	code, rep := verifyJSON(t, root)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1", code)
	}
	if len(rep.Drift) != 1 {
		t.Fatalf("drift = %+v, want exactly one resource", rep.Drift)
	}
	d := rep.Drift[0]
	if d.Path != "rendered/prod/weu-1/api/Service_api.yaml" || d.Kind != "Service" || d.Namespace != "libertum" || d.Name != "api" || d.Status != "changed" {
		t.Errorf("drift = %+v", d)
	}
	if len(d.Changes) != 1 || d.Changes[0].Path != "spec.ports[name=http].port" {
		t.Errorf("changes = %+v, want spec.ports[name=http].port", d.Changes)
	}
	if rep.Violations != 0 {
		t.Errorf("violations = %d, want 0", rep.Violations)
	}
}

func TestVerifyDriftAddedAndRemoved(t *testing.T) {
	root := platformCopy(t)
	if err := os.Remove(filepath.Join(root, "rendered/dev/weu-1/api/Service_api.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "rendered/dev/weu-1/api/ConfigMap_extra.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Reformatting alone is not drift.
	gittest.Edit(t, root, "rendered/dev/weu-1/redis/Service_redis.yaml", "apiVersion: v1\nkind: Service\n", "kind: Service\napiVersion: \"v1\"\n")
	code, rep := verifyJSON(t, root, "--env", "dev")
	if code != exitFindings || len(rep.Drift) != 2 {
		t.Fatalf("exit %d, drift %+v; want 1 and two files", code, rep.Drift)
	}
	got := rep.Drift[0].Status + " " + rep.Drift[0].Path + ", " + rep.Drift[1].Status + " " + rep.Drift[1].Path
	if got != "removed rendered/dev/weu-1/api/ConfigMap_extra.yaml, added rendered/dev/weu-1/api/Service_api.yaml" {
		t.Errorf("drift = %s", got)
	}
}

func TestVerifyExpiredException(t *testing.T) {
	root := platformCopy(t)
	// dev's api runs a mutable tag, waived until the end of May 2027.
	gittest.Edit(t, root, "environments/dev.yaml", "          tag: 9f2c4e1a7b3d # api commit", "          tag: main # api commit")
	ex := "apiVersion: policy.libertum.io/v1alpha1\nkind: ExceptionList\nexceptions:\n" +
		"  - rule: images.pinned\n    component: api\n    kind: Deployment\n    name: api\n    reason: the api team pins its tag after the migration\n    owner: api@libertum.io\n    expires: \"2027-05-31\"\n"
	if err := os.WriteFile(filepath.Join(root, "policies", "exceptions.yaml"), []byte(ex), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, rep := verifyJSON(t, root, "--today", "2027-05-01", "--env", "dev"); slices.ContainsFunc(rep.Findings, func(f jsonFinding) bool { return f.Level == "deny" && f.Rule == "images.pinned" }) {
		t.Fatalf("exit %d: the exception does not waive images.pinned before it expires:\n%+v", code, rep.Findings)
	}
	code, rep := verifyJSON(t, root, "--today", "2027-06-01", "--env", "dev")
	if code != exitFindings {
		t.Fatalf("exit %d, want 1", code)
	}
	expired, waived := false, false
	for _, f := range rep.Findings {
		if f.Rule == "exceptions.expired" && f.Level == "deny" && strings.HasPrefix(f.Source, filepath.Join(root, "policies", "exceptions.yaml")+":") {
			expired = true
		}
		if f.Rule == "images.pinned" && f.Level == "deny" {
			waived = true
		}
	}
	if !expired || !waived {
		t.Errorf("want an exceptions.expired violation at policies/exceptions.yaml:N and the finding it waived back at deny:\n%+v", rep.Findings)
	}
}

func TestVerifyFormats(t *testing.T) {
	root := platformCopy(t)
	gittest.Edit(t, root, "environments/dev.yaml", "          tag: 9f2c4e1a7b3d # api commit", "          tag: v2 # api commit")
	if code, _, stderr := gitops(t, "render", "--root", root, "--env", "dev", "--quiet"); code != exitOK {
		t.Fatal(stderr)
	}
	for _, format := range []string{"text", "json", "sarif", "junit", "markdown"} {
		t.Run(format, func(t *testing.T) {
			code, out, stderr := gitops(t, "verify", "--root", root, "--env", "dev", "--format", format)
			if code != exitFindings {
				t.Fatalf("exit %d, want 1: %s", code, stderr)
			}
			switch format {
			case "json":
				var v map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Fatal(err)
				}
			case "sarif":
				var log struct {
					Version string
					Runs    []struct {
						Results []struct {
							RuleID    string
							Locations []struct {
								PhysicalLocation struct {
									ArtifactLocation struct{ URI string }
									Region           struct{ StartLine int }
								}
							}
							RelatedLocations []struct {
								PhysicalLocation struct {
									ArtifactLocation struct{ URI string }
									Region           struct{ StartLine int }
								}
							}
						}
					}
				}
				if err := json.Unmarshal([]byte(out), &log); err != nil {
					t.Fatal(err)
				}
				found := false
				for _, r := range log.Runs[0].Results {
					// At the line that pins the image; the rendered file related.
					if r.RuleID == "images.pinned" && len(r.Locations) == 1 && strings.HasSuffix(r.Locations[0].PhysicalLocation.ArtifactLocation.URI, "environments/dev.yaml") &&
						r.Locations[0].PhysicalLocation.Region.StartLine > 0 && len(r.RelatedLocations) >= 1 &&
						r.RelatedLocations[0].PhysicalLocation.ArtifactLocation.URI == "rendered/dev/weu-1/api/Deployment_api.yaml" {
						found = true
					}
				}
				if log.Version != "2.1.0" || !found {
					t.Errorf("SARIF lacks the images.pinned result at its source line with the rendered file related:\n%s", out)
				}
			case "junit":
				var suites struct {
					Failures int `xml:"failures,attr"`
					Tests    int `xml:"tests,attr"`
				}
				if err := xml.Unmarshal([]byte(out), &suites); err != nil {
					t.Fatal(err)
				}
				if suites.Failures != 1 || suites.Tests < 15 {
					t.Errorf("junit: %d failures of %d tests, want 1 failure", suites.Failures, suites.Tests)
				}
			case "markdown":
				if !strings.Contains(out, "❌ verify failed") || !strings.Contains(out, "| deny | `images.pinned` |") {
					t.Errorf("markdown:\n%s", out)
				}
			case "text":
				if !strings.Contains(out, "deny [images.pinned] dev/weu-1/api Deployment libertum/api") {
					t.Errorf("text:\n%s", out)
				}
			}
		})
	}
}

func TestVerifyBadInput(t *testing.T) {
	root := platformCopy(t)
	gittest.Edit(t, root, "policies/images.rego", "deny contains", "deny contains contains")
	code, _, stderr := gitops(t, "verify", "--root", root)
	if code != exitError || !strings.Contains(stderr, "images.rego:") {
		t.Errorf("broken policy: exit %d, %s", code, stderr)
	}
	if code, _, _ := gitops(t, "verify", "--format", "yaml"); code != exitError {
		t.Errorf("unknown format: exit %d, want 2", code)
	}
}

// TestVerifyChangedSince: with --changed-since, verify renders only the
// unit a tag change affects, reads every other one back from rendered/, and
// still reports that unit's drift (the change was not rendered) exactly.
func TestVerifyChangedSince(t *testing.T) {
	work, _ := gittest.PlatformFrom(t, platformtest.CopyRepo)
	gittest.Edit(t, work, "environments/staging.yaml", "tag: 9f2c4e1a7b3d", "tag: 0123456789ab")

	code, stdout, stderr := gitops(t, "verify", "--root", work, "--no-cache", "--changed-since", "HEAD", "--format", "json")
	if code != exitFindings {
		t.Fatalf("exit %d, want %d (drift)\n%s", code, exitFindings, stderr)
	}
	if !strings.Contains(stderr, "changed since HEAD: staging/api\n") || !strings.Contains(stderr, "rendered 1 units, 0 from the cache, 55 unaffected read from rendered/") {
		t.Errorf("stderr does not say that only staging/api was rendered:\n%s", stderr)
	}
	var rep struct {
		Drift []struct {
			Path string `json:"path"`
		} `json:"drift"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var drifted []string
	for _, d := range rep.Drift {
		drifted = append(drifted, d.Path)
	}
	if want := []string{"rendered/staging/weu-1/api/Deployment_api.yaml"}; !slices.Equal(drifted, want) {
		t.Errorf("drift = %v, want %v", drifted, want)
	}

	// Rendered and committed, the change verifies clean, still touching only staging/api.
	if code, _, stderr := gitops(t, "render", "--root", work, "--quiet"); code != exitOK {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := gitops(t, "verify", "--root", work, "--no-cache", "--changed-since", "HEAD"); code != exitOK {
		t.Fatalf("verify after render: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := gitops(t, "verify", "--root", work, "--changed-since", "no-such-ref"); code != exitError || !strings.Contains(stderr, "no-such-ref") {
		t.Errorf("bad ref: exit %d, stderr %q; want exit 2 naming the ref", code, stderr)
	}
}

// TestUnitsInOutput: render and verify say how many units there were and
// how many were rendered or came from the cache, in text and json.
func TestUnitsInOutput(t *testing.T) {
	root := platformtest.Small(t)
	cacheDir := t.TempDir()
	type units struct {
		Units struct{ Total, Rendered, Cached int } `json:"units"`
	}
	var got units
	code, stdout, stderr := gitops(t, "render", "--root", root, "--cache-dir", cacheDir, "--format", "json")
	if err := json.Unmarshal([]byte(stdout), &got); code != exitOK || err != nil {
		t.Fatalf("render: exit %d, %v:\n%s%s", code, err, stdout, stderr)
	}
	if got.Units.Total != 6 || got.Units.Rendered != 6 || got.Units.Cached != 0 {
		t.Errorf("cold render units = %+v, want 6 rendered", got.Units)
	}
	code, stdout, stderr = gitops(t, "verify", "--root", root, "--cache-dir", cacheDir, "--format", "json")
	got = units{}
	if err := json.Unmarshal([]byte(stdout), &got); code != exitOK || err != nil {
		t.Fatalf("verify: exit %d, %v:\n%s%s", code, err, stdout, stderr)
	}
	if got.Units.Total != 6 || got.Units.Cached != 6 {
		t.Errorf("warm verify units = %+v, want 6 from the cache", got.Units)
	}
	_, stdout, _ = gitops(t, "verify", "--root", root, "--cache-dir", cacheDir)
	if !strings.Contains(stdout, "units: 6 (0 rendered, 6 from the cache, 0 read from rendered/)") {
		t.Errorf("text summary lacks the units:\n%s", stdout)
	}
}

// TestShardedVerify: two shards each render their half of the units and
// read the rest from rendered/; together they render every unit once, and
// a drifted unit is caught by the shard that owns it.
func TestShardedVerify(t *testing.T) {
	root := platformtest.Small(t)
	total := 0
	for _, shard := range []string{"1/2", "2/2"} {
		code, stdout, stderr := gitops(t, "verify", "--root", root, "--no-cache", "--shard", shard, "--format", "json")
		var rep struct {
			Units struct{ Total, Rendered, Reused int } `json:"units"`
		}
		if err := json.Unmarshal([]byte(stdout), &rep); code != exitOK || err != nil {
			t.Fatalf("shard %s: exit %d, %v: %s", shard, code, err, stderr)
		}
		if rep.Units.Total != 6 || rep.Units.Rendered != 3 || rep.Units.Reused != 3 {
			t.Errorf("shard %s: units %+v, want 3 rendered and 3 read back", shard, rep.Units)
		}
		total += rep.Units.Rendered
	}
	if total != 6 {
		t.Errorf("the shards rendered %d units, want 6", total)
	}
	gittest.Edit(t, root, "rendered/dev/weu-1/api/Service_api.yaml", "port: 80\n", "port: 8080\n")
	failed := 0
	for _, shard := range []string{"1/2", "2/2"} {
		if code, _, _ := gitops(t, "verify", "--root", root, "--no-cache", "--shard", shard); code == exitFindings {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d shards report the drifted unit, want exactly its owner", failed)
	}
	if code, _, stderr := gitops(t, "verify", "--root", root, "--shard", "3/2"); code != exitError || !strings.Contains(stderr, "want I/N") {
		t.Errorf("bad shard: exit %d: %s", code, stderr)
	}
}
