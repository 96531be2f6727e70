package argocdrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libertum/platform-gitops/generator/git"
	"github.com/libertum/platform-gitops/generator/provenance"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/libertum/platform-gitops/generator/action"
	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/publish"
	"github.com/libertum/platform-gitops/generator/servers"
	"github.com/libertum/platform-gitops/generator/spec"
	"github.com/libertum/platform-gitops/internal/argocdrun"
	"github.com/libertum/platform-gitops/internal/gittest"
	"github.com/libertum/platform-gitops/internal/platformtest"
)

var (
	appResource    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	deployResource = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// run is one Argo CD run: its servers and clients.
type run struct {
	t      *testing.T
	ctx    context.Context
	procs  *servers.Procs
	argo   dynamic.Interface
	stamps map[string]dynamic.Interface // env/stamp
	work   string
	cache  string
	signer gittest.Signer
}

// cfg is a fresh configuration, as each gitops command starts with: a
// Config keeps what its workspace read.
func (r *run) cfg() *action.Config {
	return &action.Config{Root: r.work, CacheDir: r.cache, LockWait: time.Minute}
}

// TestArgoCDSyncsRendered publishes the repo's platform to a local bare
// repository served as github.com, lets a real Argo CD (v2.14.21) sync
// every environment's Applications into one kube-apiserver per stamp, and
// then proves that an HPA's scale-out stands, that an object the AppProject
// does not permit is reported, and that a rollback by publish --source
// syncs back. scripts/argocd.sh (make argocd) sets it up; without it the
// test is skipped.
func TestArgoCDSyncsRendered(t *testing.T) {
	bin := os.Getenv("GITOPS_ARGOCD")
	if bin == "" {
		t.Skip("GITOPS_ARGOCD is not set: run make argocd")
	}
	ctx := context.Background()
	began := time.Now()
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	must(t, os.MkdirAll(logs, 0o755))
	procs := &servers.Procs{Dir: logs, PIDFile: os.Getenv("GITOPS_ARGOCD_PIDFILE")}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"argocd-application-controller", "argocd-repo-server"} {
				t.Logf("%s log ends:\n%s", name, procs.Tail(name, 40))
			}
		}
		if killed := procs.Stop(); len(killed) > 0 {
			t.Errorf("had to SIGKILL %v", killed)
		}
	})
	r := &run{t: t, ctx: ctx, procs: procs, stamps: map[string]dynamic.Interface{}}

	// The source repository and its remote, served where repoURL points.
	work, remote := gittest.PlatformFrom(t, platformtest.CopyRepo)
	gitRoot := filepath.Join(dir, "git")
	served := filepath.Join(gitRoot, "libertum", "platform-gitops.git")
	gittest.Git(t, dir, "clone", "--quiet", "--bare", remote, served)
	gittest.Git(t, work, "remote", "set-url", "origin", served)
	r.work = work
	r.cache = filepath.Join(dir, "cache")
	// publish and rollout sign with a key of this run, as publish.yml
	// signs with the one in its secret; the AppProjects trust it alone.
	r.signer = gittest.SigningKey(t, work)
	r.signer.Trust(t, work)
	_, err := (&action.Render{Config: r.cfg()}).Run(ctx)
	must(t, err)
	gittest.Commit(t, work, "Trust this run's publish key")
	gittest.Git(t, work, "push", "--quiet", "origin", "HEAD:main")
	envs, err := r.cfg().Workspace().Environments(nil)
	must(t, err)
	for _, e := range envs {
		if len(e.Spec.ArgoCD.SignatureKeys) == 0 {
			t.Fatalf("%s: no spec.argocd.signatureKeys: this run proves Argo CD syncs only signed commits", e.Name())
		}
		if e.Spec.RepoURL != "https://github.com/libertum/platform-gitops.git" {
			t.Fatalf("%s: repoURL %s: this run serves github.com/libertum/platform-gitops.git only", e.Name(), e.Spec.RepoURL)
		}
	}
	first := gittest.Git(t, work, "rev-parse", "HEAD")
	r.publish("")
	for _, e := range envs {
		if len(e.Waves()) > 1 {
			// Every wave takes the render now; the sync below still goes wave by wave.
			_, err := (&action.Rollout{Config: r.cfg(), Remote: "origin", Branch: "rendered", Env: e.Name(), Now: time.Now(), Force: true}).Run(ctx)
			must(t, err)
		}
	}
	published := time.Now()

	// Servers: etcd, redis, one kube-apiserver for Argo CD and one per stamp.
	ca, err := servers.NewCA()
	must(t, err)
	servers := &argocdrun.Servers{Procs: procs, CA: ca, Apiserver: os.Getenv("GITOPS_APISERVER")}
	must(t, servers.StartEtcd())
	argoCluster, err := servers.StartCluster("argocd", "")
	must(t, err)
	routes := map[string]string{}
	clusters := map[string]*argocdrun.Cluster{}
	for _, e := range envs {
		for _, st := range e.Spec.Stamps {
			host := hostOf(t, st.Server)
			c, err := servers.StartCluster(e.Name()+"-"+st.Name, strings.Split(host, ":")[0])
			must(t, err)
			clusters[e.Name()+"/"+st.Name] = c
			routes[host] = "127.0.0.1:" + strconv.Itoa(c.Port)
		}
	}
	redisPort := r.free()
	must(t, procs.Start("redis", nil, "redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(redisPort), "--save", "", "--appendonly", "no"))
	must(t, procs.WaitTCP(redisPort, 30*time.Second))
	for _, c := range append([]*argocdrun.Cluster{argoCluster}, values(clusters)...) {
		must(t, servers.WaitReady(ctx, c, 2*time.Minute))
	}

	// github.com through the proxy, served by git http-backend.
	gitPair, err := ca.Issue("github.com")
	must(t, err)
	gitServer, err := argocdrun.StartGitServer(gitRoot, gitPair)
	must(t, err)
	t.Cleanup(func() { _ = gitServer.Close() })
	routes["github.com:443"] = gitServer.Addr
	proxy := argocdrun.NewProxy(routes)
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	proxySrv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = proxySrv.Serve(pl) }()
	t.Cleanup(func() { _ = proxySrv.Close() })
	proxyURL := "http://" + pl.Addr().String()

	// Argo CD's cluster: its CRDs, namespace, settings and one cluster
	// Secret per stamp, at the stamp's real server URL.
	var argoObjs []*unstructured.Unstructured
	crds := os.Getenv("GITOPS_ARGOCD_CRDS")
	for _, f := range []string{"application-crd.yaml", "appproject-crd.yaml"} {
		argoObjs = append(argoObjs, decodeFile(t, filepath.Join(crds, f))...)
	}
	argoObjs = append(argoObjs, obj(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "argocd"}}))
	partOf := map[string]any{"app.kubernetes.io/part-of": "argocd"}
	for _, cm := range []string{"argocd-cm", "argocd-rbac-cm"} {
		argoObjs = append(argoObjs, obj(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": cm, "namespace": "argocd", "labels": partOf}}))
	}
	// The GnuPG key ConfigMap an operator fills (docs/signing.md): its
	// files are what the repo-server's keyring is built from.
	argoObjs = append(argoObjs, obj(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "argocd-gpg-keys-cm", "namespace": "argocd", "labels": partOf},
		"data":     map[string]any{r.signer.KeyID: string(r.signer.PublicKey(t))}}))
	argoObjs = append(argoObjs, obj(map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "argocd-secret", "namespace": "argocd", "labels": partOf},
		"stringData": map[string]any{"server.secretkey": servers.Token}}))
	for _, e := range envs {
		for _, st := range e.Spec.Stamps {
			conf, err := json.Marshal(map[string]any{"bearerToken": servers.Token, "tlsClientConfig": map[string]any{"caData": ca.PEM}, "proxyUrl": proxyURL})
			must(t, err)
			argoObjs = append(argoObjs, obj(map[string]any{"apiVersion": "v1", "kind": "Secret",
				"metadata": map[string]any{"name": "cluster-" + e.Name() + "-" + st.Name, "namespace": "argocd",
					"labels": map[string]any{"argocd.argoproj.io/secret-type": "cluster"}},
				"stringData": map[string]any{"name": e.Name() + "-" + st.Name, "server": st.Server, "config": string(conf)}}))
		}
	}
	must(t, argocdrun.Create(ctx, argoCluster.Config, argoObjs))
	// Each stamp serves the platform's CRDs (the Key Vault CSI driver's).
	var platformCRDs []*unstructured.Unstructured
	for _, o := range decodeDir(t, filepath.Join(work, "crds")) {
		if o.GroupVersionKind().Group != "" && !strings.HasSuffix(o.GetName(), ".argoproj.io") {
			platformCRDs = append(platformCRDs, o)
		}
	}
	for key, c := range clusters {
		must(t, argocdrun.Create(ctx, c.Config, platformCRDs))
		r.stamps[key], err = dynamic.NewForConfig(c.Config)
		must(t, err)
	}
	r.argo, err = dynamic.NewForConfig(argoCluster.Config)
	must(t, err)

	// Argo CD itself.
	binDir := filepath.Join(dir, "bin")
	must(t, os.MkdirAll(binDir, 0o755))
	for _, name := range []string{"argocd-application-controller", "argocd-repo-server", "argocd-git-ask-pass"} {
		must(t, os.Symlink(bin, filepath.Join(binDir, name)))
	}
	// gpg and git verify-commit through Argo CD's own wrapper scripts,
	// installed beside it as its image installs them.
	for _, script := range []string{"gpg-wrapper.sh", "git-verify-wrapper.sh"} {
		b, err := os.ReadFile(filepath.Join(os.Getenv("GITOPS_ARGOCD_HACK"), script))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(binDir, script), b, 0o755))
	}
	home, tmp, tlsDir, sshDir := filepath.Join(dir, "home"), filepath.Join(dir, "tmp"), filepath.Join(dir, "tls"), filepath.Join(dir, "ssh")
	for _, d := range []string{home, tmp, tlsDir, sshDir} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(tlsDir, "github.com"), ca.PEM, 0o644))
	must(t, os.WriteFile(filepath.Join(sshDir, "ssh_known_hosts"), nil, 0o644))
	// Signature verification on, as Argo CD ships it: the repo-server's
	// keyring is filled from the GnuPG key ConfigMap's files (one per key
	// ID), here the publish key's public half alone. A short path: gpg's
	// agent socket lives in it.
	gnupg, err := os.MkdirTemp("", "argocd-gpg")
	must(t, err)
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", gnupg, "--kill", "all").Run()
		_ = os.RemoveAll(gnupg)
	})
	must(t, os.Chmod(gnupg, 0o700))
	gpgSource := filepath.Join(dir, "gpg-source")
	must(t, os.MkdirAll(gpgSource, 0o755))
	must(t, os.WriteFile(filepath.Join(gpgSource, r.signer.KeyID), r.signer.PublicKey(t), 0o644))
	common := []string{"PATH=" + binDir + ":" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + tmp, "ARGOCD_GPG_ENABLED=true",
		"ARGOCD_GNUPGHOME=" + gnupg, "ARGOCD_GPG_DATA_PATH=" + gpgSource,
		"ARGOCD_ASK_PASS_SOCK=" + filepath.Join(tmp, "askpass.sock"), "ARGOCD_TLS_DATA_PATH=" + tlsDir, "ARGOCD_SSH_DATA_PATH=" + sshDir}
	repoPort := r.free()
	must(t, procs.Start("argocd-repo-server", append(common, "HTTPS_PROXY="+proxyURL, "NO_PROXY=127.0.0.1,localhost"),
		filepath.Join(binDir, "argocd-repo-server"), "--address", "127.0.0.1", "--port", strconv.Itoa(repoPort),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(r.free()), "--redis", "127.0.0.1:"+strconv.Itoa(redisPort)))
	must(t, procs.WaitTCP(repoPort, time.Minute))
	must(t, procs.Start("argocd-application-controller", append(common, "ARGOCD_FAKE_IN_CLUSTER=true", "KUBECONFIG="+argoCluster.Kubeconfig),
		filepath.Join(binDir, "argocd-application-controller"), "--namespace", "argocd", "--kubeconfig", argoCluster.Kubeconfig,
		"--repo-server", "127.0.0.1:"+strconv.Itoa(repoPort), "--redis", "127.0.0.1:"+strconv.Itoa(redisPort),
		"--metrics-port", strconv.Itoa(r.free()), "--status-processors", "4", "--operation-processors", "4"))
	started := time.Now()
	t.Logf("servers up: %d kube-apiservers, etcd, redis, repo-server, controller (%.1fs since the start, %.1fs after publish)",
		len(clusters)+1, started.Sub(began).Seconds(), started.Sub(published).Seconds())

	// Every environment's bootstrap, as a platform engineer applies it.
	var want []string
	for _, e := range envs {
		boot := decodeDir(t, filepath.Join(work, "rendered", e.Name(), spec.BootstrapDir))
		must(t, argocdrun.Create(ctx, argoCluster.Config, boot))
		for _, st := range e.Spec.Stamps {
			for _, o := range decodeDir(t, filepath.Join(work, "rendered", e.Name(), st.Name, spec.AppsComponent)) {
				want = append(want, o.GetName())
			}
		}
		for _, o := range boot {
			if o.GetKind() == "Application" {
				want = append(want, o.GetName())
			}
		}
	}
	sort.Strings(want)

	// Environments that sync only when a person presses sync: root first,
	// then the stamp's Applications sync wave by sync wave, stamps in
	// rollout order.
	for _, e := range envs {
		if e.Spec.ArgoCD.Sync.Automated {
			continue
		}
		for _, wave := range e.Waves() {
			for _, st := range wave {
				root := e.Name() + "-" + st
				r.wait("root "+root, []string{root}, 3*time.Minute, func(a *unstructured.Unstructured) bool { return a != nil })
				r.press(root)
				r.wait("root "+root, []string{root}, 3*time.Minute, synced)
				for _, names := range r.childWaves(e.Name(), st) {
					for _, n := range names {
						r.press(n)
					}
					r.wait(fmt.Sprintf("%s wave", root), names, 3*time.Minute, synced)
				}
			}
		}
	}
	r.wait("every Application", want, 8*time.Minute, synced)
	syncedAt := time.Now()
	t.Logf("all %d Applications Synced, operation Succeeded: %.1fs after Argo CD started", len(want), syncedAt.Sub(started).Seconds())

	r.hpaScaleOutStands()
	r.projectViolationReported()
	r.unsignedRefused()
	r.rollbackSyncsBack(first)
	rss := procs.PeakRSS()
	total := 0
	var each []string
	for _, name := range slices.Sorted(maps.Keys(rss)) {
		total += rss[name]
		each = append(each, fmt.Sprintf("%s %d", name, rss[name]))
	}
	t.Logf("whole run %.1fs; peak RSS %d MiB in all (%s)", time.Since(began).Seconds(), total, strings.Join(each, ", "))
}

func (r *run) publish(source string) *publish.Result {
	r.t.Helper()
	res, err := (&action.Publish{Config: r.cfg(), Remote: "origin", Branch: "rendered", Source: source, Today: time.Now()}).Run(r.ctx)
	must(r.t, err)
	r.t.Logf("published %s (source %s): %d stamps moved", git.Short(res.Commit), git.Short(res.Source), len(res.Stamps))
	return res
}

func (r *run) free() int {
	p, err := servers.FreePort()
	must(r.t, err)
	return p
}

// hpaScaleOutStands scales a Deployment its HPA owns in a self-healing
// environment, as the HPA would, and requires Argo CD neither to revert it
// nor to report the Application OutOfSync.
func (r *run) hpaScaleOutStands() {
	t := r.t
	const env, stamp, comp = "dev", "weu-1", "api"
	app := env + "-" + stamp + "-" + comp
	hpa := decodeFile(t, filepath.Join(r.work, "rendered", env, stamp, comp, "HorizontalPodAutoscaler_"+comp+".yaml"))[0]
	max := number(t, hpa, "spec", "maxReplicas")
	ns := hpa.GetNamespace()
	dyn := r.stamps[env+"/"+stamp]
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, max)
	_, err := dyn.Resource(deployResource).Namespace(ns).Patch(r.ctx, comp, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	must(t, err)
	r.refresh(app)
	// Longer than the controller's self-heal back-off (5s).
	time.Sleep(15 * time.Second)
	r.refresh(app)
	a := r.get(app)
	if s := status(a, "sync", "status"); s != "Synced" {
		t.Errorf("%s is %s after its HPA scaled %s/%s to %d; want Synced", app, s, ns, comp, max)
	}
	d, err := dyn.Resource(deployResource).Namespace(ns).Get(r.ctx, comp, metav1.GetOptions{})
	must(t, err)
	if n := number(t, d, "spec", "replicas"); n != max {
		t.Errorf("Argo CD reverted the HPA's scale-out of %s/%s: replicas %d, want %d", ns, comp, n, max)
	}
	t.Logf("HPA scale-out of %s to %d stands; %s stays Synced", comp, max, app)
}

// projectViolationReported pushes an object the AppProject does not permit
// to a stamp's branch and waits for Argo CD to report it.
func (r *run) projectViolationReported() {
	t := r.t
	const branch, app = "rendered-dev-weu-1", "dev-weu-1-api"
	clone := filepath.Join(t.TempDir(), "branch")
	served := gittest.Git(t, r.work, "remote", "get-url", "origin")
	gittest.Git(t, filepath.Dir(clone), "clone", "--quiet", "--branch", branch, served, clone)
	r.signs(clone, r.signer)
	pc := "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: argocdrun-jump-the-queue\nvalue: 1000000\n"
	must(t, os.WriteFile(filepath.Join(clone, "dev", "weu-1", "api", "PriorityClass_argocdrun-jump-the-queue.yaml"), []byte(pc), 0o644))
	gittest.Commit(t, clone, "A PriorityClass the dev project does not permit")
	gittest.Git(t, clone, "push", "--quiet", "origin", "HEAD:"+branch)
	pushed := time.Now()
	r.refresh(app)
	msg := r.waitFor(app, 2*time.Minute, func(a *unstructured.Unstructured) string {
		b, _ := json.Marshal(a.Object["status"])
		if i := strings.Index(string(b), "not permitted in project"); i >= 0 {
			return string(b[max(0, i-80):min(len(b), i+40)])
		}
		return ""
	})
	t.Logf("Argo CD reported the PriorityClass %.1fs after the push: …%s…", time.Since(pushed).Seconds(), msg)

	// Undo it: remove the file, stop the retrying sync, and let the
	// automated sync take the fixed branch.
	gittest.Git(t, clone, "rm", "--quiet", "dev/weu-1/api/PriorityClass_argocdrun-jump-the-queue.yaml")
	gittest.Commit(t, clone, "Remove the PriorityClass again")
	gittest.Git(t, clone, "push", "--quiet", "origin", "HEAD:"+branch)
	r.terminate(app)
	r.refresh(app)
	fixed := gittest.Git(t, clone, "rev-parse", "HEAD")
	r.waitFor(app, 3*time.Minute, func(a *unstructured.Unstructured) string {
		// The terminated operation stays Failed; nothing is left to sync.
		if status(a, "sync", "status") == "Synced" && status(a, "sync", "revision") == fixed {
			return "ok"
		}
		return ""
	})
}

// rollbackSyncsBack publishes a change to api's image in dev and prod,
// rolls prod's second wave out to it, and waits for every stamp to run it
// (prod syncs when pressed); then publishes the first source again
// (publish --source, the emergency path) and requires the rollback to move
// every stamp at once — both prod stamps, no rollout — and each to run the
// old image again.
func (r *run) rollbackSyncsBack(first string) {
	t := r.t
	const ns, comp = "libertum", "api"
	const oldTag, newTag = "tag: 9f2c4e1a7b3d # api commit", "tag: 0a1b2c3d4e5f # api commit"
	for _, env := range []string{"dev", "prod"} {
		path := filepath.Join(r.work, "environments", env+".yaml")
		b, err := os.ReadFile(path)
		must(t, err)
		if !strings.Contains(string(b), oldTag) {
			t.Fatalf("%s no longer pins %q; update the rollback step", path, oldTag)
		}
		must(t, os.WriteFile(path, []byte(strings.Replace(string(b), oldTag, newTag, 1)), 0o644))
	}
	_, err := (&action.Render{Config: r.cfg()}).Run(r.ctx)
	must(t, err)
	gittest.Commit(t, r.work, "dev and prod run api 0a1b2c3d4e5f")
	stamps := []string{"dev/weu-1", "prod/weu-1", "prod/neu-1"}
	image := func(stamp string) string {
		d, err := r.stamps[stamp].Resource(deployResource).Namespace(ns).Get(r.ctx, comp, metav1.GetOptions{})
		must(t, err)
		cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		return cs[0].(map[string]any)["image"].(string)
	}
	before := map[string]string{}
	for _, st := range stamps {
		before[st] = image(st)
	}
	for _, step := range []struct{ source, want string }{{"", "0a1b2c3d4e5f"}, {first, "9f2c4e1a7b3d"}} {
		at := time.Now()
		res := r.publish(step.source)
		if step.source == "" {
			// A forward publish moves prod's first wave; its second
			// follows with a rollout (here without the soak).
			_, err := (&action.Rollout{Config: r.cfg(), Remote: "origin", Branch: "rendered", Env: "prod", Now: time.Now(), Force: true}).Run(r.ctx)
			must(t, err)
		} else {
			var moved []string
			for _, st := range res.Stamps {
				moved = append(moved, st.Stamp.String())
			}
			for _, st := range stamps {
				if !slices.Contains(moved, st) {
					t.Errorf("the rollback moved %v, not %s: a rollback reaches every stamp at once", moved, st)
				}
			}
		}
		for _, st := range stamps {
			app := strings.ReplaceAll(st, "/", "-") + "-" + comp
			r.refresh(app)
			if strings.HasPrefix(st, "prod/") {
				r.press(app) // prod syncs when a person presses sync
			}
			r.waitFor(app, 2*time.Minute, func(a *unstructured.Unstructured) string {
				if synced(a) && strings.HasSuffix(image(st), ":"+step.want) {
					return "ok"
				}
				return ""
			})
			t.Logf("%s: %s runs %s %.1fs after the publish", st, comp, image(st), time.Since(at).Seconds())
		}
	}
	for _, st := range stamps {
		if after := image(st); after != before[st] {
			t.Errorf("%s: after the rollback api runs %s, want %s again", st, after, before[st])
		}
		// The rollback is signed like every commit publish makes (Argo CD
		// would not have synced it otherwise).
		branch := "origin/rendered-" + strings.ReplaceAll(st, "/", "-")
		gittest.Git(t, r.work, "fetch", "--quiet", "origin")
		signer, err := publish.Signer(r.ctx, git.Repo{Dir: r.work}, branch)
		if err != nil || !provenance.Trusted(signer, []string{r.signer.KeyID}) {
			t.Errorf("%s after the rollback: signed by %q (%v), want %s", branch, signer, err, r.signer.KeyID)
		}
	}
}

// signs configures a clone to sign every commit with signer's key (a
// zero Signer: to sign none).
func (r *run) signs(clone string, signer gittest.Signer) {
	gittest.Configure(r.t, clone)
	if signer.KeyID == "" {
		return
	}
	gittest.Git(r.t, clone, "config", "user.signingkey", signer.KeyID)
	gittest.Git(r.t, clone, "config", "gpg.program", signer.Program)
	gittest.Git(r.t, clone, "config", "commit.gpgsign", "true")
}

// unsignedRefused pushes to a stamp's branch a commit that adds a
// ConfigMap, first unsigned, then signed by a key the AppProject does not
// trust: each time Argo CD must report the signature on the Application
// and nothing of the commit may reach the cluster. A signed commit by the
// trusted key then takes the stamp back.
func (r *run) unsignedRefused() {
	t := r.t
	const branch, app, stamp, cm = "rendered-dev-weu-1", "dev-weu-1-api", "dev/weu-1", "argocdrun-unsigned"
	cmRes := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	served := gittest.Git(t, r.work, "remote", "get-url", "origin")
	foreign := gittest.NewSigner(t, "Not the publish key <someone@example.com>")
	for _, c := range []struct {
		name   string
		signer gittest.Signer
	}{{"unsigned", gittest.Signer{}}, {"signed by " + foreign.KeyID, foreign}} {
		clone := filepath.Join(t.TempDir(), "branch")
		gittest.Git(t, filepath.Dir(clone), "clone", "--quiet", "--branch", branch, served, clone)
		r.signs(clone, c.signer)
		data := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + cm + "\n  namespace: libertum\ndata:\n  pushed: " + strings.ReplaceAll(c.name, " ", "-") + "\n"
		must(t, os.WriteFile(filepath.Join(clone, "dev", "weu-1", "api", "ConfigMap_"+cm+".yaml"), []byte(data), 0o644))
		gittest.Commit(t, clone, "A ConfigMap from a commit "+c.name)
		gittest.Git(t, clone, "push", "--quiet", "origin", "HEAD:"+branch)
		pushed := time.Now()
		r.refresh(app)
		msg := r.waitFor(app, 2*time.Minute, func(a *unstructured.Unstructured) string {
			conds, _, _ := unstructured.NestedSlice(a.Object, "status", "conditions")
			for _, x := range conds {
				m, _ := x.(map[string]any)
				if text, _ := m["message"].(string); m["type"] == "ComparisonError" && strings.Contains(strings.ToLower(text), "sign") {
					return text
				}
			}
			return ""
		})
		t.Logf("Argo CD refused the commit %s %.1fs after the push: %s", c.name, time.Since(pushed).Seconds(), msg)
		// The automated sync had every chance: nothing of it may be there.
		time.Sleep(10 * time.Second)
		if _, err := r.stamps[stamp].Resource(cmRes).Namespace("libertum").Get(r.ctx, cm, metav1.GetOptions{}); err == nil {
			t.Errorf("ConfigMap %s from the commit %s reached the cluster", cm, c.name)
		}
		// status.sync.revision is what Argo CD compared; what it deployed
		// is the history and the last sync's result.
		a, pushedRev := r.get(app), gittest.Git(t, clone, "rev-parse", "HEAD")
		hist, _, _ := unstructured.NestedSlice(a.Object, "status", "history")
		for _, h := range hist {
			if m, _ := h.(map[string]any); m["revision"] == pushedRev {
				t.Errorf("%s deployed the commit %s (%s)", app, c.name, git.Short(pushedRev))
			}
		}
		// An operation on it may run (and fail on the comparison error);
		// none may succeed.
		if rev, phase := status(a, "operationState", "syncResult", "revision"), status(a, "operationState", "phase"); rev == pushedRev && phase == "Succeeded" {
			t.Errorf("%s synced the commit %s (%s)", app, c.name, git.Short(pushedRev))
		}
	}
	// The trusted key takes the branch back to the published render.
	clone := filepath.Join(t.TempDir(), "branch")
	gittest.Git(t, filepath.Dir(clone), "clone", "--quiet", "--branch", branch, served, clone)
	r.signs(clone, r.signer)
	gittest.Git(t, clone, "rm", "--quiet", "dev/weu-1/api/ConfigMap_"+cm+".yaml")
	gittest.Commit(t, clone, "Remove the ConfigMap again, signed")
	gittest.Git(t, clone, "push", "--quiet", "origin", "HEAD:"+branch)
	fixed := gittest.Git(t, clone, "rev-parse", "HEAD")
	// The automated sync of the refused revision keeps retrying (and
	// failing): stop it, as an operator would, so the signed one syncs.
	r.terminate(app)
	r.refresh(app)
	r.waitFor(app, 3*time.Minute, func(a *unstructured.Unstructured) string {
		if status(a, "sync", "status") == "Synced" && status(a, "sync", "revision") == fixed && status(a, "operationState", "phase") != "Running" {
			return "ok"
		}
		return ""
	})
}

// terminate stops an Application's running operation, as the Argo CD UI's
// "Terminate" does.
func (r *run) terminate(app string) {
	if status(r.get(app), "operationState", "phase") != "Running" {
		return
	}
	patch := []byte(`{"status":{"operationState":{"phase":"Terminating"}}}`)
	_, err := r.argo.Resource(appResource).Namespace("argocd").Patch(r.ctx, app, types.MergePatchType, patch, metav1.PatchOptions{})
	must(r.t, err)
}

// childWaves are a stamp's Applications grouped by sync wave, in order.
func (r *run) childWaves(env, stamp string) [][]string {
	files := decodeDir(r.t, filepath.Join(r.work, "rendered", env, stamp, spec.AppsComponent))
	byWave := map[int][]string{}
	for _, o := range files {
		w, _ := strconv.Atoi(o.GetAnnotations()["argocd.argoproj.io/sync-wave"])
		byWave[w] = append(byWave[w], o.GetName())
	}
	var out [][]string
	for _, w := range slices.Sorted(maps.Keys(byWave)) {
		out = append(out, byWave[w])
	}
	return out
}

// press starts a sync as the Argo CD API server does: it sets the
// Application's operation.
func (r *run) press(name string) {
	a := r.get(name)
	opts, _, _ := unstructured.NestedStringSlice(a.Object, "spec", "syncPolicy", "syncOptions")
	op := map[string]any{"operation": map[string]any{
		"initiatedBy": map[string]any{"username": "argocdrun"},
		"sync":        map[string]any{"prune": true, "syncOptions": opts},
	}}
	b, err := json.Marshal(op)
	must(r.t, err)
	_, err = r.argo.Resource(appResource).Namespace("argocd").Patch(r.ctx, name, types.MergePatchType, b, metav1.PatchOptions{})
	must(r.t, err)
}

// refresh asks for a hard refresh and waits until the controller took it.
func (r *run) refresh(name string) {
	patch := []byte(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"hard"}}}`)
	_, err := r.argo.Resource(appResource).Namespace("argocd").Patch(r.ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	must(r.t, err)
	r.waitFor(name, time.Minute, func(a *unstructured.Unstructured) string {
		if _, ok := a.GetAnnotations()["argocd.argoproj.io/refresh"]; ok {
			return ""
		}
		return "refreshed"
	})
}

func (r *run) get(name string) *unstructured.Unstructured {
	a, err := r.argo.Resource(appResource).Namespace("argocd").Get(r.ctx, name, metav1.GetOptions{})
	must(r.t, err)
	return a
}

// waitFor polls one Application until done returns something.
func (r *run) waitFor(name string, timeout time.Duration, done func(*unstructured.Unstructured) string) string {
	r.t.Helper()
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if a, err := r.argo.Resource(appResource).Namespace("argocd").Get(r.ctx, name, metav1.GetOptions{}); err == nil {
			if s := done(a); s != "" {
				return s
			}
		}
		if err := r.procs.Dead(); err != nil {
			r.t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	r.t.Fatalf("%s: not there after %s; status: %s", name, timeout, brief(r.get(name)))
	return ""
}

// wait polls until every named Application is ok, failing at once on a
// failed sync (the retry policy would hide it for minutes).
func (r *run) wait(what string, names []string, timeout time.Duration, ok func(*unstructured.Unstructured) bool) {
	r.t.Helper()
	end := time.Now().Add(timeout)
	for {
		list, err := r.argo.Resource(appResource).Namespace("argocd").List(r.ctx, metav1.ListOptions{})
		must(r.t, err)
		apps := map[string]*unstructured.Unstructured{}
		for i := range list.Items {
			apps[list.Items[i].GetName()] = &list.Items[i]
		}
		var pending []string
		for _, n := range names {
			a := apps[n]
			if a != nil {
				if msg := failure(a); msg != "" {
					r.t.Fatalf("%s: Application %s failed: %s", what, n, msg)
				}
			}
			if !ok(a) {
				pending = append(pending, n)
			}
		}
		if len(pending) == 0 {
			return
		}
		if err := r.procs.Dead(); err != nil {
			r.t.Fatal(err)
		}
		if time.Now().After(end) {
			var lines []string
			for _, n := range pending {
				if a := apps[n]; a != nil {
					lines = append(lines, n+": "+brief(a))
				} else {
					lines = append(lines, n+": not created")
				}
			}
			r.t.Fatalf("%s: %d of %d Applications not there after %s:\n%s", what, len(pending), len(names), timeout, strings.Join(lines, "\n"))
		}
		time.Sleep(time.Second)
	}
}

func synced(a *unstructured.Unstructured) bool {
	return a != nil && status(a, "sync", "status") == "Synced" && status(a, "operationState", "phase") == "Succeeded"
}

// failure is the resource's own message for a failed sync, if any.
func failure(a *unstructured.Unstructured) string {
	res, _, _ := unstructured.NestedSlice(a.Object, "status", "operationState", "syncResult", "resources")
	for _, x := range res {
		m, _ := x.(map[string]any)
		if m["status"] == "SyncFailed" {
			return fmt.Sprintf("%v %v/%v: %v", m["kind"], m["namespace"], m["name"], m["message"])
		}
	}
	if p := status(a, "operationState", "phase"); p == "Failed" || p == "Error" {
		return p + ": " + status(a, "operationState", "message")
	}
	conds, _, _ := unstructured.NestedSlice(a.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if tp, _ := m["type"].(string); strings.HasSuffix(tp, "Error") {
			return fmt.Sprintf("%s: %v", tp, m["message"])
		}
	}
	return ""
}

func status(a *unstructured.Unstructured, path ...string) string {
	s, _, _ := unstructured.NestedString(a.Object, append([]string{"status"}, path...)...)
	return s
}

func brief(a *unstructured.Unstructured) string {
	return fmt.Sprintf("sync %s, health %s, operation %s %q", status(a, "sync", "status"), status(a, "health", "status"),
		status(a, "operationState", "phase"), status(a, "operationState", "message"))
}

func hostOf(t *testing.T, server string) string {
	h := strings.TrimPrefix(server, "https://")
	if !strings.Contains(h, ":") {
		h += ":443"
	}
	if strings.ContainsAny(h, "/") {
		t.Fatalf("server %s: want https://host[:port]", server)
	}
	return h
}

// number reads an integer field of an object decoded from YAML or JSON
// (a float64) or from the API (an int64).
func number(t *testing.T, o *unstructured.Unstructured, path ...string) int64 {
	t.Helper()
	v, ok, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	t.Fatalf("%s %s: %s is %v (found %v), want a number", o.GetKind(), o.GetName(), strings.Join(path, "."), v, ok)
	return 0
}

func obj(m map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: m} }

func decodeFile(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	out, err := manifest.Decode(path, b)
	must(t, err)
	return out
}

func decodeDir(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	must(t, err)
	var out []*unstructured.Unstructured
	for _, f := range files {
		out = append(out, decodeFile(t, f)...)
	}
	return out
}

func values(m map[string]*argocdrun.Cluster) []*argocdrun.Cluster {
	var out []*argocdrun.Cluster
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
