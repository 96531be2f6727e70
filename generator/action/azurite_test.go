package action

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/libertum/platform-gitops/internal/platformtest"
)

// AzuriteEnv names the azurite-blob executable for the tests that need a
// real Azure Blob endpoint; make azurite (run by .ci/run) installs Azurite
// from the npm registry and sets it.
const AzuriteEnv = "GITOPS_AZURITE"

// azuriteAccount and azuriteKey are the Azure Storage emulator's
// well-known, publicly documented development account: not a secret.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startAzurite runs Azurite's blob service on a free loopback port, in
// memory, and stops it by its process when the test ends. It returns the
// endpoint's host:port.
func startAzurite(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(AzuriteEnv)
	if bin == "" {
		t.Skipf("%s is not set: make azurite runs this test against a real Azurite", AzuriteEnv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--inMemoryPersistence", "--skipApiVersionCheck")
	cmd.Dir = t.TempDir() // anything it writes goes there
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.After(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("Azurite exited (%v):\n%s", err, logs.String())
		case <-deadline:
			t.Fatalf("Azurite did not listen on %s within 30s:\n%s", addr, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestTwoRunnersShareAzurite: two checkouts with two empty local caches
// and one Azure Blob container: what the first renders, the second reads
// back and renders nothing.
func TestTwoRunnersShareAzurite(t *testing.T) {
	addr := startAzurite(t)
	t.Setenv("AZURE_STORAGE_ACCOUNT", azuriteAccount)
	t.Setenv("AZURE_STORAGE_KEY", azuriteKey)
	cred, err := azblob.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential("http://"+addr+"/"+azuriteAccount, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CreateContainer(ctx, "render-cache", nil); err != nil {
		t.Fatal(err)
	}
	url := "azblob://render-cache?localemu=true&protocol=http&domain=" + addr

	run := func(name string) (rendered, cached int) {
		cfg := &Config{Root: platformtest.Small(t), CacheDir: t.TempDir(), CacheURL: url, Log: testLog{t, name}}
		res, err := (&Render{Config: cfg}).Run(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := res.Counts()
		st, ok := cfg.Cache().Remote()
		if !ok || st.Down || st.Refused != 0 {
			t.Fatalf("%s: remote tier %+v (configured %v)", name, st, ok)
		}
		return c.Rendered, c.Cached
	}
	r1, c1 := run("first runner")
	if r1 == 0 || c1 != 0 {
		t.Fatalf("first runner rendered %d, %d from the cache; want everything rendered", r1, c1)
	}
	r2, c2 := run("second runner")
	if r2 != 0 || c2 != r1 {
		t.Errorf("second runner rendered %d, %d from the cache; want 0 and %d", r2, c2, r1)
	}
	n := 0
	pager := client.NewListBlobsFlatPager("render-cache", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Segment.BlobItems)
	}
	if n < r1 {
		t.Errorf("the container holds %d entries, fewer than the %d rendered units", n, r1)
	}
}

type testLog struct {
	t    *testing.T
	name string
}

func (l testLog) Write(b []byte) (int, error) {
	l.t.Logf("%s: %s", l.name, bytes.TrimSpace(b))
	return len(b), nil
}
