package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAStampReachesOnlyItsRegion: prod's one data VM is in westeurope and
// declared global, so neu-1 reaching it is a warning naming both ends; the
// same host without its global reason is a dependency across regions that
// verify refuses, naming the stamp, its region, the host and the host's.
func TestAStampReachesOnlyItsRegion(t *testing.T) {
	root := realPlatformCopy(t)
	code, stdout, stderr := gitops(t, "verify", "--root", root, "--no-cache", "--env", "prod")
	if code != exitOK {
		t.Fatalf("verify: exit %d: %s%s", code, stdout, stderr)
	}
	for _, want := range []string{"warn [region.global-dependency] prod/neu-1/kafka", "stamp neu-1 in northeurope reaches prod-Kafka-redis-libertum at 10.30.8.10 in westeurope"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify does not warn %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "prod/weu-1/kafka EndpointSlice data/kafka-external: stamp weu-1") {
		t.Errorf("weu-1 reaches its own region's VM, yet verify warns about it:\n%s", stdout)
	}

	file := filepath.Join(root, "environments", "prod.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "global: ") {
			kept = append(kept, l)
		}
	}
	if len(kept) == len(lines) {
		t.Fatal("environments/prod.yaml declares no global host")
	}
	if err := os.WriteFile(file, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = gitops(t, "verify", "--root", root, "--no-cache", "--env", "prod")
	if code != exitFindings {
		t.Fatalf("verify with a cross-region dependency: exit %d, want %d: %s%s", code, exitFindings, stdout, stderr)
	}
	for _, c := range []string{"kafka", "redis", "mongodb"} {
		want := "[region.cross-region] prod/neu-1/" + c
		if !strings.Contains(stdout, want) {
			t.Errorf("verify does not name %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stdout, "stamp neu-1 in northeurope reaches prod-Kafka-redis-libertum at 10.30.8.10 in westeurope's private subnet") {
		t.Errorf("the finding does not name both ends:\n%s", stdout)
	}
}
