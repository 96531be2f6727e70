// Package blobcache is the render cache's shared tier on object storage,
// opened through gocloud.dev/blob from a URL: azblob://CONTAINER (Azure
// Blob Storage; account and key, connection string or SAS token from the
// standard AZURE_STORAGE_* variables; ?localemu=true&protocol=http&domain=
// HOST:PORT for an emulator such as Azurite), s3://BUCKET (AWS' standard
// variables), file:///DIR.
package blobcache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/s3blob"    // s3://
	"gocloud.dev/gcerrors"

	"github.com/libertum/platform-gitops/generator/cache"
)

// EnvURL names the variable that gives the remote cache's URL when
// --cache-url does not.
const EnvURL = "GITOPS_CACHE_URL"

// Bucket is a remote cache tier.
type Bucket struct {
	b    *blob.Bucket
	name string
}

var _ cache.Tier = (*Bucket)(nil)

// Schemes are the URL schemes a remote cache may have.
var Schemes = []string{"azblob", "s3", "file"}

// CheckURL says whether a URL names a remote cache this tool can open: a
// scheme of Schemes. Anything else (http://…, a bare path) is bad input.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("remote cache URL %s: %w", redact(rawURL), err)
	}
	if !slices.Contains(Schemes, u.Scheme) {
		return fmt.Errorf("remote cache URL %s: scheme %q is not one of %s (azblob://CONTAINER, s3://BUCKET, file:///DIR)", redact(rawURL), u.Scheme, strings.Join(Schemes, ", "))
	}
	return nil
}

// Open opens the bucket at rawURL and checks that it can be read: a
// missing container is an error that says so. A file:// store keeps its
// temporary files beside its entries, so that it works on any file
// system (a rename from $TMPDIR to another one fails).
func Open(ctx context.Context, rawURL string) (*Bucket, error) {
	if err := CheckURL(rawURL); err != nil {
		return nil, err
	}
	name := redact(rawURL)
	if u, _ := url.Parse(rawURL); u.Scheme == "file" && !u.Query().Has("no_tmp_dir") {
		q := u.Query()
		q.Set("no_tmp_dir", "true")
		u.RawQuery = q.Encode()
		rawURL = u.String()
	}
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("open remote cache %s: %w", name, err)
	}
	ok, err := b.IsAccessible(ctx)
	if err != nil || !ok {
		b.Close()
		if err == nil {
			err = errors.New("the container or bucket does not exist (create it first)")
		}
		return nil, fmt.Errorf("open remote cache %s: %w", name, err)
	}
	return &Bucket{b: b, name: name}, nil
}

// redact keeps a URL's scheme, host and path: its query may hold a SAS
// token.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable cache URL)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

func (b *Bucket) String() string { return b.name }

// Close releases the bucket, waiting at most a few seconds: a call that
// blocked past its deadline (a FIFO, a hung mount) holds the bucket, and
// an exit must not wait for it.
func (b *Bucket) Close() error {
	done := make(chan error, 1)
	go func() { done <- b.b.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(2 * time.Second):
		return fmt.Errorf("close remote cache %s: a call still blocks; left open", b.name)
	}
}

// Get reads an entry. An entry the store cannot give back for what it
// holds (its checksum beside it fails, it is no regular file) is a bad
// entry, not a tier that is down.
func (b *Bucket) Get(ctx context.Context, name string) ([]byte, error) {
	data, err := b.b.ReadAll(ctx, name)
	switch gcerrors.Code(err) {
	case gcerrors.OK:
		return data, nil
	case gcerrors.NotFound:
		return nil, cache.ErrNotFound
	case gcerrors.FailedPrecondition, gcerrors.InvalidArgument:
		return nil, fmt.Errorf("%w: %v", cache.ErrBadEntry, err)
	}
	return nil, err
}

// Put writes an entry unless it exists: entries are content-addressed, so
// an existing one already holds these bytes, unless the store refused it
// (replace): then it is written over.
func (b *Bucket) Put(ctx context.Context, name string, data []byte, replace bool) error {
	if !replace {
		ok, err := b.b.Exists(ctx, name)
		if err != nil || ok {
			return err
		}
	}
	return b.b.WriteAll(ctx, name, data, &blob.WriterOptions{ContentType: "application/octet-stream"})
}

// Size counts the entries and their bytes.
func (b *Bucket) Size(ctx context.Context) (entries int, total int64, err error) {
	it := b.b.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return entries, total, nil
		}
		if err != nil {
			return entries, total, err
		}
		if !obj.IsDir {
			entries++
			total += obj.Size
		}
	}
}
