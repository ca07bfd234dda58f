package containerd

import (
	"context"
	"errors"
	"time"

	"github.com/cnsenter/cnsenter/runtime"
)

// SnapshotSource names a snapshot of a containerd: Docker's (namespace
// moby) or containerd's own containers and images.
type SnapshotSource struct {
	Address     string // containerd's socket, to find its root
	Timeout     time.Duration
	Namespace   string
	Snapshotter string
	Key         string // the snapshot's key: a container's
	Ref         string // for messages
}

// SnapshotFiles are the layers of a container's snapshot.
func SnapshotFiles(ctx context.Context, s SnapshotSource) (runtime.Files, error) {
	return runtime.Files{}, errors.New("containerd's snapshots are not read yet")
}

// ImageFiles are the layers of an image of containerd's.
func ImageFiles(ctx context.Context, s SnapshotSource, image string) (runtime.Files, error) {
	return runtime.Files{}, errors.New("containerd's images are not read yet")
}
