// Package containerd resolves containerd containers through its gRPC API,
// with a client of its own for the five unary calls it makes (h2.go,
// wire.go), not grpc-go and the generated services.
package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cnsenter/cnsenter/runtime"
)

// DefaultAddress is containerd's own default socket.
const DefaultAddress = "/run/containerd/containerd.sock"

// Address is the socket to use: explicit, else CONTAINERD_ADDRESS, else
// DefaultAddress.
func Address(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if env := os.Getenv("CONTAINERD_ADDRESS"); env != "" {
		return env
	}
	return DefaultAddress
}

// DefaultNamespace is the namespace of containerd://ID: CONTAINERD_NAMESPACE,
// else "default", as ctr has it.
func DefaultNamespace() string {
	if ns := os.Getenv("CONTAINERD_NAMESPACE"); ns != "" {
		return ns
	}
	return "default"
}

// Adapter talks to one containerd.
type Adapter struct {
	address string
	timeout time.Duration
	mu      sync.Mutex // one call at a time on conn
	conn    *conn
}

// New makes an adapter for a containerd socket. No connection is made until
// the first call; every call gets timeout as its deadline.
func New(address string, timeout time.Duration) (*Adapter, error) {
	path := strings.TrimPrefix(address, "unix://")
	if path == "" {
		return nil, errors.New("containerd address is empty")
	}
	return &Adapter{address: path, timeout: timeout}, nil
}

func (a *Adapter) Name() string { return "containerd" }

// Address is the socket the adapter talks to.
func (a *Adapter) Address() string { return a.address }

// Close releases the connection.
func (a *Adapter) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil {
		return nil
	}
	err := a.conn.Close()
	a.conn = nil
	return err
}

// The calls cnsenter makes.
const (
	containersGet  = "/containerd.services.containers.v1.Containers/Get"
	containersList = "/containerd.services.containers.v1.Containers/List"
	tasksGet       = "/containerd.services.tasks.v1.Tasks/Get"
	tasksList      = "/containerd.services.tasks.v1.Tasks/List"
	namespacesList = "/containerd.services.namespaces.v1.Namespaces/List"
)

// call makes one call in a namespace, connecting first if need be. A
// connection that failed is not used again.
func (a *Adapter) call(ctx context.Context, namespace, method string, request []byte) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil {
		c, err := dial(ctx, a.address)
		if err != nil {
			return nil, err
		}
		a.conn = c
	}
	response, err := a.conn.call(ctx, namespace, method, request)
	var rpc *rpcError
	if err != nil && !errors.As(err, &rpc) {
		a.conn.Close()
		a.conn = nil
	}
	return response, err
}

// deadline gives ctx the adapter's deadline, for one or more calls.
func (a *Adapter) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.timeout)
}

// Resolve finds the running container "NAMESPACE/ID".
func (a *Adapter) Resolve(ctx context.Context, ref string) (runtime.Container, error) {
	ns, id, _ := strings.Cut(ref, "/")
	return a.Get(ctx, ns, id)
}

// Get finds a running container by namespace and ID: two round trips, the
// container record (image) and its task (PID, status).
func (a *Adapter) Get(ctx context.Context, namespace, id string) (runtime.Container, error) {
	ref := "containerd://" + namespace + "/" + id
	ctx, cancel := a.deadline(ctx)
	defer cancel()
	rec, err := a.record(ctx, namespace, ref, id)
	if err != nil {
		return runtime.Container{}, err
	}
	c := runtime.Container{Runtime: "containerd", Namespace: namespace, ID: id, Name: id, Image: rec.image}
	res, err := a.call(ctx, namespace, tasksGet, appendString(nil, 1, id))
	var rpc *rpcError
	if errors.As(err, &rpc) && rpc.code == codeNotFound {
		c.Status = "created"
		return c, fmt.Errorf("%s: container is not running (it has no task): start it first", ref)
	}
	if err != nil {
		return c, a.explain(ctx, ref, err)
	}
	m, err := embedded(res, 1)
	if err != nil {
		return c, a.explain(ctx, ref, err)
	}
	p, err := decodeProcess(m)
	if err != nil {
		return c, a.explain(ctx, ref, err)
	}
	return c, withTask(&c, p, ref)
}

// record reads a container's record.
func (a *Adapter) record(ctx context.Context, namespace, ref, id string) (record, error) {
	res, err := a.call(ctx, namespace, containersGet, appendString(nil, 1, id))
	var rpc *rpcError
	if errors.As(err, &rpc) && rpc.code == codeNotFound {
		return record{}, fmt.Errorf("%s: %w (see 'cnsenter --list')", ref, runtime.ErrNotFound)
	}
	if err != nil {
		return record{}, a.explain(ctx, ref, err)
	}
	m, err := embedded(res, 1)
	if err != nil {
		return record{}, a.explain(ctx, ref, err)
	}
	rec, err := decodeRecord(m)
	if err != nil {
		return record{}, a.explain(ctx, ref, err)
	}
	return rec, nil
}

// withTask fills in what a task says, and fails unless it runs.
func withTask(c *runtime.Container, p process, ref string) error {
	c.Status = p.status
	c.PID = int(p.pid)
	switch p.status {
	case "running":
		return nil
	case "paused":
		return fmt.Errorf("%s: container is paused: resume it first", ref)
	}
	return fmt.Errorf("%s: container is not running (%s): start it first", ref, c.Status)
}

// Namespaces lists containerd's namespaces.
func (a *Adapter) Namespaces(ctx context.Context) ([]string, error) {
	ctx, cancel := a.deadline(ctx)
	defer cancel()
	res, err := a.call(ctx, "", namespacesList, nil)
	if err == nil {
		var names []string
		if names, err = decodeNamespaces(res); err == nil {
			return names, nil
		}
	}
	return nil, a.explain(ctx, "containerd", err)
}

// ListNamespace returns the running containers of one namespace: two round
// trips, whatever their number.
func (a *Adapter) ListNamespace(ctx context.Context, namespace string) ([]runtime.Container, error) {
	ctx, cancel := a.deadline(ctx)
	defer cancel()
	image := map[string]string{}
	res, err := a.call(ctx, namespace, containersList, nil)
	if err != nil {
		return nil, a.explain(ctx, "containerd", err)
	}
	recs, err := repeated(res, 1)
	for _, m := range recs {
		r, e := decodeRecord(m)
		err = errors.Join(err, e)
		image[r.id] = r.image
	}
	if err != nil {
		return nil, a.explain(ctx, "containerd", err)
	}
	if res, err = a.call(ctx, namespace, tasksList, nil); err != nil {
		return nil, a.explain(ctx, "containerd", err)
	}
	tasks, err := repeated(res, 1)
	if err != nil {
		return nil, a.explain(ctx, "containerd", err)
	}
	var list []runtime.Container
	for _, m := range tasks {
		t, err := decodeProcess(m)
		if err != nil {
			return nil, a.explain(ctx, "containerd", err)
		}
		img, ok := image[t.id]
		if !ok || t.status != "running" {
			continue
		}
		c := runtime.Container{Runtime: "containerd", Namespace: namespace, ID: t.id, Name: t.id, Image: img}
		withTask(&c, t, "")
		list = append(list, c)
	}
	return list, nil
}

// List returns the running containers of every namespace.
func (a *Adapter) List(ctx context.Context) ([]runtime.Container, error) {
	namespaces, err := a.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	var all []runtime.Container
	for _, ns := range namespaces {
		list, err := a.ListNamespace(ctx, ns)
		if err != nil {
			return all, err
		}
		all = append(all, list...)
	}
	return all, nil
}

// SpecJSON reads a container's OCI runtime spec (Docker's too: namespace
// "moby", same ID), as JSON, for the caller to decode what it needs of it.
func (a *Adapter) SpecJSON(ctx context.Context, namespace, id string) ([]byte, error) {
	ref := "containerd://" + namespace + "/" + id
	ctx, cancel := a.deadline(ctx)
	defer cancel()
	rec, err := a.record(ctx, namespace, ref, id)
	if err != nil {
		return nil, err
	}
	if !json.Valid(rec.spec) {
		return nil, fmt.Errorf("%s: the container's OCI spec is not JSON", ref)
	}
	return rec.spec, nil
}

// explain turns a failure to talk to containerd into one line naming the
// socket and what to do.
func (a *Adapter) explain(ctx context.Context, what string, err error) error {
	var rpc *rpcError
	isRPC := errors.As(err, &rpc)
	var unreachable errUnreachable
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.DeadlineExceeded) || isRPC && rpc.code == codeDeadlineExceeded:
		return fmt.Errorf("%s: containerd at %s did not answer within %s (is it hung? --timeout or CNSENTER_TIMEOUT change the deadline)", what, a.address, a.timeout)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s: permission denied on the containerd socket %s: run as root", what, a.address)
	case errors.As(err, &unreachable) || isRPC && rpc.code == codeUnavailable:
		return fmt.Errorf("%s: cannot reach containerd at %s (is containerd running? set CONTAINERD_ADDRESS or --containerd-address)", what, a.address)
	case isRPC:
		return fmt.Errorf("%s: containerd at %s: %s", what, a.address, rpc.message)
	}
	return fmt.Errorf("%s: containerd at %s: %w", what, a.address, err)
}

var _ runtime.Adapter = (*Adapter)(nil)
