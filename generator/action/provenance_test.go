package action

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/provenance"
	"github.com/libertum/platform-gitops/generator/publish"
	"github.com/libertum/platform-gitops/internal/gittest"
)

// signedPlatform publishes the small platform with every commit signed
// by a key the protected branch (main) trusts.
func signedPlatform(t *testing.T) (work string, signer gittest.Signer, cfg *Config) {
	t.Helper()
	work, _ = gittest.Platform(t)
	signer = gittest.SigningKey(t, work)
	signer.Trust(t, work)
	cfg = &Config{Root: work, NoCache: true}
	if _, err := (&Render{Config: cfg}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	gittest.Commit(t, work, "Trust the publish key")
	gittest.Git(t, work, "push", "--quiet", "origin", "HEAD:main")
	if _, err := (&Publish{Config: cfg, Remote: "origin", Branch: "rendered", Today: today}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, work, "fetch", "--quiet", "origin")
	return work, signer, cfg
}

func checks(rep *ProvenanceReport) map[string]Check {
	out := map[string]Check{}
	for _, c := range rep.Checks {
		out[c.Name] = c
	}
	return out
}

// plantCommit commits a copy of rev's tree with edit applied, signed with
// sign (a gpg program and key; empty: unsigned), on top of rev; when
// attest, the provenance is rebuilt for the edited tree with the same
// key, as a compromised publish job would.
func plantCommit(t *testing.T, work, rev string, edit func(dir string), program, key string, attest bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "plant")
	gittest.Git(t, work, "worktree", "add", "--quiet", "--detach", dir, rev)
	t.Cleanup(func() { gittest.Git(t, work, "worktree", "remove", "--force", dir) })
	edit(dir)
	if attest {
		files, err := treeFilesOfDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var digests []provenance.Digest
		for p, d := range files {
			if p != provenance.File {
				digests = append(digests, provenance.Of(p, d))
			}
		}
		st, err := provenance.Statement(provenance.Build{RepoURL: "https://example.com/repo.git", Source: gittest.Git(t, work, "rev-parse", "main"), Tool: "planted"}, digests)
		if err != nil {
			t.Fatal(err)
		}
		envelope, err := provenance.Envelope(context.Background(), st, provenance.GPG{Program: program, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, provenance.File), envelope, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gittest.Git(t, dir, "add", "--all")
	args := []string{"-c", "commit.gpgsign=false", "commit", "--quiet", "--allow-empty", "-m", "planted"}
	if key != "" {
		args = []string{"-c", "gpg.program=" + program, "-c", "user.signingkey=" + key, "commit", "--quiet", "--allow-empty", "-S", "-m", "planted"}
	}
	gittest.Git(t, dir, args...)
	return gittest.Git(t, dir, "rev-parse", "HEAD")
}

func treeFilesOfDir(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() == ".git" {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	return out, err
}

func editFile(dir string) {
	p := filepath.Join(dir, "dev", "weu-1", "api", "Deployment_api.yaml")
	b, _ := os.ReadFile(p)
	_ = os.WriteFile(p, append(b, "# edited after signing\n"...), 0o644)
}

// TestVerifyProvenance: a published stamp branch passes every check; a
// commit edited after signing, one signed by another key, and one whose
// tree is not what its source renders (signed and attested with the
// trusted key, as a compromised job would) each fail the check that
// catches them, naming the file.
func TestVerifyProvenance(t *testing.T) {
	ctx := context.Background()
	work, signer, cfg := signedPlatform(t)
	branch := "origin/rendered-dev-weu-1"

	rep, err := (&VerifyProvenance{Config: cfg, Rev: branch, Protected: "main"}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || len(rep.Checks) != 4 {
		t.Fatalf("published branch: %+v", rep.Checks)
	}
	if rep.Source != gittest.Git(t, work, "rev-parse", "main") {
		t.Errorf("source %s, want main's head", rep.Source)
	}

	t.Run("edited after signing", func(t *testing.T) {
		c := plantCommit(t, work, branch, editFile, "", "", false)
		rep, err := (&VerifyProvenance{Config: cfg, Rev: c, Protected: "main"}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := checks(rep)
		if got["signature"].OK || !strings.Contains(got["signature"].Detail, "not signed") {
			t.Errorf("signature: %+v", got["signature"])
		}
		if got["provenance"].OK || !strings.Contains(got["provenance"].Detail, "dev/weu-1/api/Deployment_api.yaml changed after signing") {
			t.Errorf("provenance: %+v", got["provenance"])
		}
		if !strings.Contains(strings.Join(rep.Differ, " "), "dev/weu-1/api/Deployment_api.yaml (changed)") {
			t.Errorf("differ: %v", rep.Differ)
		}
	})

	t.Run("signed by another key", func(t *testing.T) {
		other := gittest.NewSigner(t, "Someone else <x@example.com>")
		c := plantCommit(t, work, branch, func(string) {}, other.Program, other.KeyID, false)
		rep, err := (&VerifyProvenance{Config: cfg, Rev: c, Protected: "main"}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := checks(rep)["signature"]; s.OK {
			t.Errorf("a commit signed by %s passed: %+v", other.KeyID, s)
		}
	})

	t.Run("tree that is not a re-render", func(t *testing.T) {
		c := plantCommit(t, work, branch, editFile, signer.Program, signer.KeyID, true)
		rep, err := (&VerifyProvenance{Config: cfg, Rev: c, Protected: "main"}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := checks(rep)
		if !got["signature"].OK || !got["provenance"].OK || !got["source"].OK {
			t.Fatalf("the planted commit should pass signature, provenance and source: %+v", rep.Checks)
		}
		if got["re-render"].OK || len(rep.Differ) != 1 || rep.Differ[0] != "dev/weu-1/api/Deployment_api.yaml (changed)" {
			t.Errorf("re-render: %+v, differ %v", got["re-render"], rep.Differ)
		}
	})

	t.Run("source never merged", func(t *testing.T) {
		gittest.Git(t, work, "checkout", "--quiet", "-b", "unreviewed")
		gittest.Edit(t, work, "environments/dev.yaml", "targetRevision: rendered", "targetRevision: rendered # unreviewed")
		gittest.Commit(t, work, "Unreviewed")
		defer gittest.Git(t, work, "checkout", "--quiet", "main")
		if _, err := (&Publish{Config: cfg, Remote: "origin", Branch: "unreviewed-rendered", Today: today}).Run(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := (&VerifyProvenance{Config: cfg, Rev: "unreviewed-rendered", Remote: "origin", Protected: "main"}).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := checks(rep)["source"]; s.OK || !strings.Contains(s.Detail, "not an ancestor of main") {
			t.Errorf("source: %+v", s)
		}
	})
}

// TestProvenanceStatement: what publish commits is an in-toto v1
// statement with a SLSA v1 provenance predicate, valid by the
// attestation library's own checks and shaped as the specs name the
// fields; its subjects are the commit's files; it names the source
// commit and the inputs the render read.
func TestProvenanceStatement(t *testing.T) {
	work, signer, _ := signedPlatform(t)
	env := gittest.Git(t, work, "show", "origin/rendered:"+provenance.File)
	var raw map[string]any
	if err := json.Unmarshal([]byte(env), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["payloadType"] != provenance.PayloadType {
		t.Errorf("payloadType %v", raw["payloadType"])
	}
	v := &provenance.Verifier{Program: "gpg", Home: signer.Home, Keys: []string{signer.KeyID}}
	st, err := provenance.Open(context.Background(), []byte(env), v)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Validate(); err != nil {
		t.Errorf("in-toto: %v", err)
	}
	pred, err := provenance.Predicate(st)
	if err != nil {
		t.Fatalf("SLSA: %v", err)
	}
	if got, want := provenance.SourceOf(pred), gittest.Git(t, work, "rev-parse", "main"); got != want {
		t.Errorf("source %s, want %s", got, want)
	}
	var inputs []string
	for _, d := range pred.GetBuildDefinition().GetResolvedDependencies() {
		inputs = append(inputs, d.GetName())
	}
	for _, want := range []string{"environments/dev.yaml", "policies/lib.rego"} {
		if !strings.Contains(strings.Join(inputs, " "), want) {
			t.Errorf("inputs lack %s: %v", want, inputs)
		}
	}
	names := map[string]bool{}
	for _, s := range st.GetSubject() {
		names[s.GetName()] = true
	}
	if !names[publish.MetadataFile] || !names["dev/weu-1/api/Deployment_api.yaml"] || names[provenance.File] {
		t.Errorf("subjects: want every file but the envelope, hydrator.metadata included")
	}
	// The JSON names the specs use.
	payload := map[string]any{}
	body := decodePayload(t, raw["payload"].(string))
	if err := json.Unmarshal(body, &payload); err != nil {
		t.Fatal(err)
	}
	p, _ := payload["predicate"].(map[string]any)
	if payload["_type"] != "https://in-toto.io/Statement/v1" || payload["predicateType"] != "https://slsa.dev/provenance/v1" || p["buildDefinition"] == nil || p["runDetails"] == nil {
		t.Errorf("statement fields: _type %v, predicateType %v, predicate keys %v", payload["_type"], payload["predicateType"], keysOf(p))
	}
}

func decodePayload(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPublishSignsWithATrustedKeyOrNothing: where the environments name
// signature keys, a publish with no signing key configured, or with a key
// they do not name, pushes nothing.
func TestPublishSignsWithATrustedKeyOrNothing(t *testing.T) {
	ctx := context.Background()
	work, remote := gittest.Platform(t)
	trusted := gittest.NewSigner(t, "Publish key <p@libertum.io>")
	trusted.Trust(t, work)
	cfg := &Config{Root: work, NoCache: true}
	if _, err := (&Render{Config: cfg}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	gittest.Commit(t, work, "Trust the publish key")
	for _, c := range []struct {
		name string
		key  func()
		want string
	}{
		{"no signing key", func() {}, "git has no signing key"},
		{"another key", func() { gittest.SigningKey(t, work) }, "signs as"},
	} {
		c.key()
		_, err := (&Publish{Config: &Config{Root: work, NoCache: true}, Remote: "origin", Branch: "rendered", Today: today}).Run(ctx)
		var se *publish.SigningError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: publish returned %v, want a SigningError saying %q", c.name, err, c.want)
		}
		if refs := gittest.Git(t, remote, "for-each-ref", "refs/heads/"); strings.Contains(refs, "rendered") {
			t.Errorf("%s: something was pushed:\n%s", c.name, refs)
		}
	}
}

// TestVerifyProvenanceWithTheLocalKeyring: a protected branch that names
// the key but has no keys/<ID>.asc still verifies with the public key of
// the keyring git signs with.
func TestVerifyProvenanceWithTheLocalKeyring(t *testing.T) {
	ctx := context.Background()
	work, signer, cfg := signedPlatform(t)
	gittest.Git(t, work, "rm", "--quiet", "keys/"+signer.KeyID+".asc")
	gittest.Commit(t, work, "No public key file")
	rep, err := (&VerifyProvenance{Config: cfg, Rev: "origin/rendered-prod-weu-1", Protected: "main"}).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		t.Errorf("checks: %+v", rep.Checks)
	}
}

// TestRolloutAndPinSign: the commits gitops rollout creates (a later wave
// taking a render, one stamp pinned back) carry the publish key's
// signature, like publish's; with no signing key, rollout moves nothing.
func TestRolloutAndPinSign(t *testing.T) {
	ctx := context.Background()
	work, signer, cfg := signedPlatform(t)
	first := gittest.Git(t, work, "rev-parse", "HEAD")
	bumpProdAPI(t, cfg, "0a1b2c3d4e5f")
	if _, err := (&Publish{Config: cfg, Remote: "origin", Branch: "rendered", Today: today}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	signedBy := func(ref string) string {
		t.Helper()
		gittest.Git(t, work, "fetch", "--quiet", "origin")
		s, err := publish.Signer(ctx, git.Repo{Dir: work}, "origin/"+ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		return s
	}
	tip := func() string { return gittest.Git(t, work, "ls-remote", "origin", "refs/heads/rendered-prod-neu-1") }

	for _, r := range []*Rollout{
		{Config: cfg, Remote: "origin", Branch: "rendered", Env: "prod", Now: time.Now(), Force: true},
		{Config: cfg, Remote: "origin", Branch: "rendered", Env: "prod", Stamp: "neu-1", To: first},
	} {
		// Without the key, it refuses to create the commit.
		gittest.Git(t, work, "config", "--unset", "user.signingkey")
		var se *publish.SigningError
		before := tip()
		if _, err := r.Run(ctx); !errors.As(err, &se) || tip() != before {
			t.Fatalf("rollout (stamp %q) without a signing key: %v, want a SigningError and neu-1 left where it was", r.Stamp, err)
		}
		gittest.Git(t, work, "config", "user.signingkey", signer.KeyID)
		out, err := r.Run(ctx)
		if err != nil || len(out.Moved) != 1 {
			t.Fatalf("rollout %+v: %+v, %v; want neu-1 moved", r, out, err)
		}
		if s := signedBy("rendered-prod-neu-1"); !provenance.Trusted(s, []string{signer.KeyID}) {
			t.Errorf("rollout (stamp %q) left neu-1 signed by %s, want %s", r.Stamp, s, signer.KeyID)
		}
	}
}
