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

// Open opens the bucket at rawURL and checks that it can be read: a
// missing container is an error that says so.
func Open(ctx context.Context, rawURL string) (*Bucket, error) {
	name := redact(rawURL)
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

// Close releases the bucket.
func (b *Bucket) Close() error { return b.b.Close() }

// Get reads an entry.
func (b *Bucket) Get(ctx context.Context, name string) ([]byte, error) {
	data, err := b.b.ReadAll(ctx, name)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, cache.ErrNotFound
	}
	return data, err
}

// Put writes an entry unless it exists: entries are content-addressed, so
// an existing one already holds these bytes (or is refused on read).
func (b *Bucket) Put(ctx context.Context, name string, data []byte) error {
	ok, err := b.b.Exists(ctx, name)
	if err != nil || ok {
		return err
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
