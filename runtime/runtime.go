// Package runtime resolves container references (docker://NAME,
// containerd://NAMESPACE/ID, a bare name or a PID) to the process that the
// setns core enters. Each engine lives behind the small Adapter interface in
// a sub-package of its own, so that a binary links only the clients it uses.
package runtime

import (
	"context"
	"errors"
)

// Container is what an adapter knows about one running container.
type Container struct {
	Runtime   string `json:"runtime"`   // "docker" or "containerd"
	Namespace string `json:"namespace"` // containerd namespace; "moby" for Docker's containers
	ID        string `json:"id"`        // full ID
	Name      string `json:"name"`      // Docker name without the leading "/", or the containerd ID
	Image     string `json:"image"`
	Status    string `json:"status"` // "running", "created", "stopped", ...
	PID       int    `json:"pid"`    // init PID in the caller's PID namespace; 0 when not running
	// GroupAdd is Docker's --group-add (HostConfig.GroupAdd): groups,
	// names or numbers, that every process of the container gets, those
	// of docker exec --user too.
	GroupAdd []string `json:"-"`
	// Note says how the container was found when not the usual way (the
	// engine bypassed); the caller prints it.
	Note string `json:"note,omitempty"`
}

// Ref is the container's full reference, unambiguous across runtimes.
func (c Container) Ref() string {
	if c.Runtime == "containerd" {
		return "containerd://" + c.Namespace + "/" + c.ID
	}
	return c.Runtime + "://" + c.ID
}

// Adapter is one container engine.
type Adapter interface {
	// Name is the reference scheme the adapter answers to ("docker", "containerd").
	Name() string
	// Resolve finds the container a reference (without its scheme) names.
	Resolve(ctx context.Context, ref string) (Container, error)
	// List returns the containers the engine runs.
	List(ctx context.Context) ([]Container, error)
}

// ErrNotFound is wrapped by adapters when no container matches a reference.
var ErrNotFound = errors.New("no such container")
