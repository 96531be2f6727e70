package provenance_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/libertum/platform-gitops/generator/provenance"
	"github.com/libertum/platform-gitops/internal/gittest"
)

func build() provenance.Build {
	return provenance.Build{RepoURL: "https://example.com/repo.git", Source: strings.Repeat("a", 40),
		Inputs: []provenance.Digest{provenance.Of("environments/dev.yaml", []byte("x"))}, Tool: "test-build",
		Verdict: provenance.Verdict{Warnings: 3, Waived: 2}}
}

// TestEnvelopeRoundTrip: an envelope signed with a key opens with that key
// trusted, names the source, and refuses another key or a changed payload.
func TestEnvelopeRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := gittest.NewSigner(t, "Provenance test <p@example.com>")
	st, err := provenance.Statement(build(), []provenance.Digest{provenance.Of("dev/a.yaml", []byte("a")), provenance.Of("hydrator.metadata", []byte("{}"))})
	if err != nil {
		t.Fatal(err)
	}
	env, err := provenance.Envelope(ctx, st, provenance.GPG{Program: s.Program, Key: s.KeyID})
	if err != nil {
		t.Fatal(err)
	}
	v := &provenance.Verifier{Home: s.Home, Keys: []string{s.KeyID}}
	got, err := provenance.Open(ctx, env, v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(v.Signed, s.KeyID) {
		t.Errorf("signed by %q, want %s", v.Signed, s.KeyID)
	}
	p, err := provenance.Predicate(got)
	if err != nil {
		t.Fatal(err)
	}
	if provenance.SourceOf(p) != strings.Repeat("a", 40) || len(got.GetSubject()) != 2 || got.GetSubject()[0].GetName() != "dev/a.yaml" {
		t.Errorf("statement: source %s, subjects %v", provenance.SourceOf(p), got.GetSubject())
	}

	// Another trusted key list: refused.
	if _, err := provenance.Open(ctx, env, &provenance.Verifier{Home: s.Home, Keys: []string{"0123456789ABCDEF"}}); err == nil {
		t.Error("opened with a key that did not sign it trusted")
	}
	// A payload changed after signing: refused.
	var e map[string]any
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	body, _ := base64.StdEncoding.DecodeString(e["payload"].(string))
	e["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(body), "dev/a.yaml", "dev/b.yaml", 1)))
	tampered, _ := json.Marshal(e)
	if _, err := provenance.Open(ctx, tampered, &provenance.Verifier{Home: s.Home, Keys: []string{s.KeyID}}); err == nil {
		t.Error("opened a payload changed after signing")
	}
}

func TestStatementNeedsFiles(t *testing.T) {
	if _, err := provenance.Statement(build(), nil); err == nil {
		t.Error("a statement with no subjects")
	}
}
