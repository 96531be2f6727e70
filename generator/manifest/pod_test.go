package manifest

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestTypedConvertsOnce(t *testing.T) {
	objs, err := Decode("pods.yaml", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: app}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: api:1, resources: {requests: {cpu: 100m}}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: app}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: backup, image: backup:1}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: app}
`))
	if err != nil {
		t.Fatal(err)
	}
	pods := NewTyped()
	for _, o := range objs {
		want, err := PodTemplate(o)
		if err != nil {
			t.Fatal(err)
		}
		// Concurrent readers of one memo (run under -race) get what
		// PodTemplate gives.
		got := make([]*corev1.PodTemplateSpec, 8)
		var wg sync.WaitGroup
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tpl, err := pods.Template(o)
				if err != nil {
					t.Error(err)
				}
				got[i] = tpl
			}()
		}
		wg.Wait()
		for _, g := range got {
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("%s: memo differs from PodTemplate (-want +got):\n%s", IDOf(o), diff)
			}
		}
		// Once kept, a template is not converted again.
		first, _ := pods.Template(o)
		if again, _ := pods.Template(o); want != nil && again != first {
			t.Errorf("%s: converted again on a later read", IDOf(o))
		}
	}
	var none *Typed
	tpl, err := none.Template(objs[0])
	if err != nil || tpl == nil || tpl.Labels["app"] != "api" {
		t.Errorf("a nil memo converts each time: got %v, %v", tpl, err)
	}
}

// TestConvertKeysAndFailures: two conversions of one object under their
// own keys are kept apart, and a failure is not kept.
func TestConvertKeysAndFailures(t *testing.T) {
	objs, err := Decode("cm.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	type kindKey struct{}
	type nameKey struct{}
	typed, calls := NewTyped(), 0
	kind := func(o *Object) (string, error) { calls++; return o.GetKind(), nil }
	name := func(o *Object) (string, error) { calls++; return o.GetName(), nil }
	for range 2 {
		k, _ := Convert(typed, kindKey{}, objs[0], kind)
		n, _ := Convert(typed, nameKey{}, objs[0], name)
		if k != "ConfigMap" || n != "a" {
			t.Fatalf("got %q and %q, want ConfigMap and a", k, n)
		}
	}
	if calls != 2 {
		t.Errorf("%d conversions for two keys read twice, want 2", calls)
	}
	fails := 0
	failing := func(*Object) (*int, error) { fails++; return nil, errors.New("no") }
	type failKey struct{}
	for range 2 {
		if _, err := Convert(typed, failKey{}, objs[0], failing); err == nil {
			t.Fatal("a failed conversion returned no error")
		}
	}
	if fails != 2 {
		t.Errorf("a failed conversion ran %d times for two reads, want 2 (not kept)", fails)
	}
}

// TestSharedBuildsOnce: callers asking for the same key at once get one
// build's value; another key builds again; a failure and a panic are kept
// as errors; a nil memo builds each time.
func TestSharedBuildsOnce(t *testing.T) {
	type key struct{ stamp string }
	typed := NewTyped()
	var builds sync.Map
	build := func(name string) func() (*string, error) {
		return func() (*string, error) {
			n, _ := builds.LoadOrStore(name, new(int))
			*n.(*int)++ // each name builds on one goroutine at most
			v := name
			return &v, nil
		}
	}
	var wg sync.WaitGroup
	got := make([]*string, 8)
	for i := range got {
		wg.Go(func() {
			v, err := Shared(typed, key{"one"}, build("one"))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] {
			t.Fatal("callers of one key got different values")
		}
	}
	other, _ := Shared(typed, key{"two"}, build("two"))
	if *other != "two" {
		t.Errorf("another key gave %q", *other)
	}
	for name, want := range map[string]int{"one": 1, "two": 1} {
		if n, _ := builds.Load(name); *n.(*int) != want {
			t.Errorf("%s built %d times, want %d", name, *n.(*int), want)
		}
	}
	fails := 0
	for range 2 {
		if _, err := Shared(typed, key{"fails"}, func() (*string, error) { fails++; return nil, errors.New("no") }); err == nil {
			t.Error("a failed build returned no error")
		}
		if _, err := Shared(typed, key{"panics"}, func() (*string, error) { panic("engine") }); err == nil {
			t.Error("a build that panicked returned no error")
		}
	}
	if fails != 1 {
		t.Errorf("a failed build ran %d times, want 1 (kept)", fails)
	}
	a, _ := Shared(nil, key{"one"}, build("three"))
	b, _ := Shared(nil, key{"one"}, build("three"))
	if a == b {
		t.Error("without a memo, two calls shared a value")
	}
}

// TestWithoutLeavesTheObject: a view without a field (the quota's count
// of a CronJob without its pod template) leaves the object whole.
func TestWithoutLeavesTheObject(t *testing.T) {
	objs, err := Decode("cron.yaml", []byte("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup}\nspec: {schedule: '@daily', jobTemplate: {spec: {parallelism: 2, template: {spec: {containers: [{name: c}]}}}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	obj := objs[0].Object
	got := Without(obj, "spec", "jobTemplate", "spec", "template")
	js := got["spec"].(map[string]any)["jobTemplate"].(map[string]any)["spec"].(map[string]any)
	if _, ok := js["template"]; ok || js["parallelism"] != float64(2) {
		t.Errorf("view's job spec %v, want parallelism without the template", js)
	}
	if _, ok := obj["spec"].(map[string]any)["jobTemplate"].(map[string]any)["spec"].(map[string]any)["template"]; !ok {
		t.Error("the object lost its template")
	}
	if got["spec"].(map[string]any)["schedule"] != "@daily" {
		t.Errorf("view's spec %v lost its other fields", got["spec"])
	}
}
