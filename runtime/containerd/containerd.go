// Package containerd resolves containerd containers through its gRPC API,
// with the project's own client for the five unary calls it makes
// (internal/grpc), not grpc-go and the generated services.
package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/cnsenter/cnsenter/internal/grpc"
	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/ref"
)

func init() {
	runtime.Register(runtime.Runtime{
		Name: "containerd", Rank: 30, Syntax: "[NAMESPACE/]ID",
		Options: []runtime.Option{{Name: "containerd-address", Arg: "<path>",
			Help: "containerd socket (default: CONTAINERD_ADDRESS,\n/run/containerd/containerd.sock)"}},
		New: func(c runtime.Config) (runtime.Adapter, error) {
			return New(Address(c.Get("containerd-address")), c.Timeout)
		},
	})
}

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
	client  *grpc.Client
}

// New makes an adapter for a containerd socket. No connection is made until
// the first call; every call gets timeout as its deadline.
func New(address string, timeout time.Duration) (*Adapter, error) {
	path := strings.TrimPrefix(address, "unix://")
	if path == "" {
		return nil, errors.New("containerd address is empty")
	}
	return &Adapter{address: path, timeout: timeout, client: grpc.NewClient(path)}, nil
}

func (a *Adapter) Name() string { return "containerd" }

// Endpoint is the socket the adapter talks to.
func (a *Adapter) Endpoint() string { return a.address }

// Close releases the connection.
func (a *Adapter) Close() error { return a.client.Close() }

// The calls cnsenter makes.
const (
	containersGet  = "/containerd.services.containers.v1.Containers/Get"
	containersList = "/containerd.services.containers.v1.Containers/List"
	tasksGet       = "/containerd.services.tasks.v1.Tasks/Get"
	tasksList      = "/containerd.services.tasks.v1.Tasks/List"
	namespacesList = "/containerd.services.namespaces.v1.Namespaces/List"
)

// call makes one call in a namespace.
func (a *Adapter) call(ctx context.Context, namespace, method string, request []byte) ([]byte, error) {
	if namespace == "" {
		return a.client.Call(ctx, method, request)
	}
	return a.client.Call(ctx, method, request, "containerd-namespace", namespace)
}

// deadline gives ctx the adapter's deadline, for one or more calls.
func (a *Adapter) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.timeout)
}

// Resolve finds the running container "NAMESPACE/ID", or "ID" in the
// default namespace (DefaultNamespace).
func (a *Adapter) Resolve(ctx context.Context, r string) (runtime.Container, error) {
	ns, id, hasNS := strings.Cut(r, "/")
	if !hasNS {
		ns, id = DefaultNamespace(), r
	}
	if id == "" || ns == "" || strings.Contains(id, "/") {
		return runtime.Container{}, &runtime.Error{Kind: runtime.Failed, Runtime: "containerd", Ref: "containerd://" + r,
			Detail: "not a reference: give containerd://NAMESPACE/ID or containerd://ID"}
	}
	for _, name := range []string{ns, id} {
		if err := ref.CheckName(name); err != nil {
			return runtime.Container{}, err
		}
	}
	return a.Get(ctx, ns, id)
}

// Find looks for a container ID in every namespace.
func (a *Adapter) Find(ctx context.Context, name string) ([]runtime.Container, error) {
	if ref.CheckName(name) != nil {
		return nil, nil // no container ID has that form
	}
	namespaces, err := a.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	var found []runtime.Container
	var stopped error
	for _, ns := range namespaces {
		c, err := a.Get(ctx, ns, name)
		switch {
		case err == nil:
			found = append(found, c)
		case runtime.KindOf(err) == runtime.NotRunning:
			stopped = err
		case !errors.Is(err, runtime.ErrNotFound):
			return found, err
		}
	}
	if len(found) == 0 && stopped != nil {
		return nil, stopped
	}
	return found, nil
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
	c := container(namespace, id, rec.image)
	res, err := a.call(ctx, namespace, tasksGet, grpc.AppendString(nil, 1, id))
	var rpc *grpc.StatusError
	if errors.As(err, &rpc) && rpc.Code == grpc.CodeNotFound {
		c.Status = "created"
		return c, a.notRunning(c, "it has no task")
	}
	if err != nil {
		return c, a.explain(ctx, ref, err)
	}
	m, err := grpc.Embedded(res, 1)
	if err != nil {
		return c, a.explain(ctx, ref, err)
	}
	p, err := decodeProcess(m)
	if err != nil {
		return c, a.explain(ctx, ref, err)
	}
	withTask(&c, p)
	if c.Status != "running" {
		return c, a.notRunning(c, c.Status)
	}
	return c, nil
}

// container is what containerd says of a container before its task.
func container(namespace, id, image string) runtime.Container {
	return runtime.Container{Runtime: "containerd", Namespace: namespace, ID: id, Name: id, Image: image,
		Reference: "containerd://" + namespace + "/" + id, Task: namespace}
}

// notRunning is the error for a container without a running task.
func (a *Adapter) notRunning(c runtime.Container, why string) error {
	detail := "container is not running (" + why + ")"
	if c.Status == "paused" {
		detail = "container is paused"
	}
	return &runtime.Error{Kind: runtime.NotRunning, Runtime: "containerd", Endpoint: a.address, Ref: c.Ref(), Detail: detail, Container: c}
}

// record reads a container's record.
func (a *Adapter) record(ctx context.Context, namespace, ref, id string) (record, error) {
	res, err := a.call(ctx, namespace, containersGet, grpc.AppendString(nil, 1, id))
	var rpc *grpc.StatusError
	if errors.As(err, &rpc) && rpc.Code == grpc.CodeNotFound {
		return record{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "containerd", Endpoint: a.address, Ref: ref}
	}
	if err != nil {
		return record{}, a.explain(ctx, ref, err)
	}
	m, err := grpc.Embedded(res, 1)
	if err != nil {
		return record{}, a.explain(ctx, ref, err)
	}
	rec, err := decodeRecord(m)
	if err != nil {
		return record{}, a.explain(ctx, ref, err)
	}
	return rec, nil
}

// withTask fills in what a task says.
func withTask(c *runtime.Container, p process) {
	c.Status = p.status
	c.PID = int(p.pid)
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
	recs, err := grpc.Repeated(res, 1)
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
	tasks, err := grpc.Repeated(res, 1)
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
		c := container(namespace, t.id, img)
		withTask(&c, t)
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
		return nil, &runtime.Error{Runtime: "containerd", Endpoint: a.address, Ref: ref, Detail: "the container's OCI spec is not JSON"}
	}
	return rec.spec, nil
}

// explain turns a failure to talk to containerd into a runtime.Error
// naming the socket.
func (a *Adapter) explain(ctx context.Context, what string, err error) error {
	var rpc *grpc.StatusError
	isRPC := errors.As(err, &rpc)
	var unreachable grpc.Unreachable
	e := &runtime.Error{Runtime: "containerd", Endpoint: a.address, Ref: what, Err: err}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.DeadlineExceeded) || isRPC && rpc.Code == grpc.CodeDeadlineExceeded:
		e.Kind, e.Detail = runtime.Timeout, fmt.Sprintf("containerd at %s did not answer within %s", a.address, a.timeout)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		e.Kind, e.Detail = runtime.Denied, "permission denied on the containerd socket "+a.address
	case errors.As(err, &unreachable) || isRPC && rpc.Code == grpc.CodeUnavailable:
		e.Kind, e.Detail = runtime.Unreachable, "cannot reach containerd at "+a.address
	case isRPC:
		e.Detail = fmt.Sprintf("containerd at %s: %s", a.address, rpc.Message)
	default:
		e.Detail = fmt.Sprintf("containerd at %s: %v", a.address, err)
	}
	return e
}

var _ runtime.Adapter = (*Adapter)(nil)
