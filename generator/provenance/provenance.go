// Package provenance binds a rendered commit to what it was rendered from:
// an in-toto Statement (https://in-toto.io/Statement/v1) whose subjects
// are the commit's files and whose predicate is SLSA Provenance v1 (the
// source repository and commit, the digest of every input the render
// read, the gitops build and the libraries that render, and the verify
// verdict), in a DSSE envelope signed with the key git signs the commit
// with. The envelope is a file of the commit (File), so anyone can read it
// with git show, and check it with gpg (docs/signing.md).
package provenance

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// File is the envelope's name at the root of a rendered commit, beside
// hydrator.metadata.
const File = "provenance.intoto.json"

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// BuildType names how gitops renders, for the SLSA predicate.
const BuildType = "https://github.com/libertum/platform-gitops/blob/main/docs/signing.md#build-type-v1"

// BuilderID names the builder: gitops publish, run by the publish workflow.
const BuilderID = "https://github.com/libertum/platform-gitops/.github/workflows/publish.yml"

// Libraries are the modules whose versions decide the render's bytes.
var Libraries = []string{
	"sigs.k8s.io/kustomize/api",
	"helm.sh/helm/v3",
	"github.com/open-policy-agent/opa",
	"k8s.io/apimachinery",
	"sigs.k8s.io/yaml",
}

// Build is what a render was made from and what verify said of it.
type Build struct {
	// RepoURL and Source are the source repository and commit.
	RepoURL, Source string
	// Inputs are the files the render read, by path in the source commit.
	Inputs []Digest
	// Tool identifies the gitops binary (its Go build ID).
	Tool string
	// Verdict is verify's summary of the render.
	Verdict Verdict
}

// Digest is a file and the SHA-256 of its bytes.
type Digest struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Of returns the digest of a file's bytes.
func Of(path string, data []byte) Digest {
	sum := sha256.Sum256(data)
	return Digest{Path: path, SHA256: hex.EncodeToString(sum[:])}
}

// Verdict is verify's summary: denied findings, warnings (and how many a
// reviewed exception waived), and the connectivity judges' result.
type Verdict struct {
	Denied       int `json:"denied"`
	Warnings     int `json:"warnings"`
	Waived       int `json:"waived"`
	Connectivity int `json:"connectivityDenied"`
	Drift        int `json:"drift"`
}

// Statement returns the in-toto statement for a render: one subject per
// file of the commit (sorted), the SLSA provenance predicate.
func Statement(b Build, files []Digest) (*intoto.Statement, error) {
	if len(files) == 0 {
		return nil, errors.New("provenance: no files to attest")
	}
	subjects := make([]*intoto.ResourceDescriptor, len(files))
	sorted := append([]Digest(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for i, f := range sorted {
		subjects[i] = &intoto.ResourceDescriptor{Name: f.Path, Digest: map[string]string{"sha256": f.SHA256}}
	}
	ext, err := structpb.NewStruct(map[string]any{
		"source": map[string]any{"uri": "git+" + b.RepoURL, "digest": map[string]any{"gitCommit": b.Source}},
	})
	if err != nil {
		return nil, err
	}
	deps := make([]*intoto.ResourceDescriptor, 0, len(b.Inputs)+1)
	deps = append(deps, &intoto.ResourceDescriptor{Uri: "git+" + b.RepoURL, Digest: map[string]string{"gitCommit": b.Source}})
	inputs := append([]Digest(nil), b.Inputs...)
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Path < inputs[j].Path })
	for _, in := range inputs {
		deps = append(deps, &intoto.ResourceDescriptor{Name: in.Path, Digest: map[string]string{"sha256": in.SHA256}})
	}
	verdict, err := structOf(b.Verdict)
	if err != nil {
		return nil, err
	}
	pred := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{BuildType: BuildType, ExternalParameters: ext, ResolvedDependencies: deps},
		RunDetails: &slsa.RunDetails{
			Builder:    &slsa.Builder{Id: BuilderID, Version: versions(b.Tool)},
			Metadata:   &slsa.BuildMetadata{InvocationId: b.Source + "/" + b.Tool},
			Byproducts: []*intoto.ResourceDescriptor{{Name: "verdict", MediaType: "application/json", Annotations: verdict}},
		},
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: SLSA predicate: %w", err)
	}
	predicate, err := structOf(pred)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, Subject: subjects, PredicateType: "https://slsa.dev/provenance/v1", Predicate: predicate}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: in-toto statement: %w", err)
	}
	return st, nil
}

// versions are the builder's: the gitops build, Go, and the libraries.
func versions(tool string) map[string]string {
	v := map[string]string{"gitops": tool, "go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if slices.Contains(Libraries, d.Path) {
				v[d.Path] = d.Version
			}
		}
	}
	return v
}

// structOf converts a proto message or a JSON-able value to a Struct.
func structOf(v any) (*structpb.Struct, error) {
	var data []byte
	var err error
	switch m := v.(type) {
	case *slsa.Provenance:
		data, err = protojson.Marshal(m)
	default:
		data, err = json.Marshal(m)
	}
	if err != nil {
		return nil, err
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(data, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Envelope signs the statement and returns the DSSE envelope's JSON.
func Envelope(ctx context.Context, st *intoto.Statement, signer dsse.Signer) ([]byte, error) {
	body, err := protojson.MarshalOptions{Multiline: false}.Marshal(st)
	if err != nil {
		return nil, err
	}
	// protojson's output is not stable across versions; the statement's
	// bytes are canonical JSON of the same message.
	var canon any
	if err := json.Unmarshal(body, &canon); err != nil {
		return nil, err
	}
	if body, err = json.Marshal(canon); err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(signer)
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(ctx, PayloadType, body)
	if err != nil {
		return nil, fmt.Errorf("provenance: sign: %w", err)
	}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// Open verifies an envelope's signature with verifier and returns its
// statement.
func Open(ctx context.Context, data []byte, verifier dsse.Verifier) (*intoto.Statement, error) {
	var env dsse.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%s: not a DSSE envelope: %w", File, err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%s: payload type %q, want %s", File, env.PayloadType, PayloadType)
	}
	ev, err := dsse.NewEnvelopeVerifier(verifier)
	if err != nil {
		return nil, err
	}
	if _, err := ev.Verify(ctx, &env); err != nil {
		return nil, fmt.Errorf("%s: signature: %w", File, err)
	}
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{}
	if err := protojson.Unmarshal(body, st); err != nil {
		return nil, fmt.Errorf("%s: statement: %w", File, err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("%s: statement: %w", File, err)
	}
	return st, nil
}

// Predicate returns a statement's SLSA provenance, validated.
func Predicate(st *intoto.Statement) (*slsa.Provenance, error) {
	if st.GetPredicateType() != "https://slsa.dev/provenance/v1" {
		return nil, fmt.Errorf("predicate type %q, want https://slsa.dev/provenance/v1", st.GetPredicateType())
	}
	data, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, err
	}
	p := &slsa.Provenance{}
	if err := protojson.Unmarshal(data, p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// SourceOf returns the source commit a provenance names.
func SourceOf(p *slsa.Provenance) string {
	src := p.GetBuildDefinition().GetExternalParameters().GetFields()["source"].GetStructValue()
	return src.GetFields()["digest"].GetStructValue().GetFields()["gitCommit"].GetStringValue()
}
