// Package containerd resolves containerd containers through its gRPC API:
// the light generated services of containerd/api, not the full client.
package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	containersapi "github.com/containerd/containerd/api/services/containers/v1"
	namespacesapi "github.com/containerd/containerd/api/services/namespaces/v1"
	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

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
	conn    *grpc.ClientConn
}

// New makes an adapter for a containerd socket. No connection is made until
// the first call; every call gets timeout as its deadline.
func New(address string, timeout time.Duration) (*Adapter, error) {
	path := strings.TrimPrefix(address, "unix://")
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("containerd address %s: %w", address, err)
	}
	return &Adapter{address: path, timeout: timeout, conn: conn}, nil
}

func (a *Adapter) Name() string { return "containerd" }

// Address is the socket the adapter talks to.
func (a *Adapter) Address() string { return a.address }

// Close releases the connection.
func (a *Adapter) Close() error { return a.conn.Close() }

// call runs one engine call in a namespace, with the adapter's deadline.
func (a *Adapter) call(ctx context.Context, namespace string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	if namespace != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "containerd-namespace", namespace)
	}
	return ctx, cancel
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
	cctx, cancel := a.call(ctx, namespace)
	defer cancel()
	rec, err := a.record(cctx, ref, id)
	if err != nil {
		return runtime.Container{}, err
	}
	c := runtime.Container{Runtime: "containerd", Namespace: namespace, ID: id, Name: id, Image: rec.GetContainer().GetImage()}
	t, err := tasksapi.NewTasksClient(a.conn).Get(cctx, &tasksapi.GetRequest{ContainerID: id})
	if status.Code(err) == codes.NotFound {
		c.Status = "created"
		return c, fmt.Errorf("%s: container is not running (it has no task): start it first", ref)
	}
	if err != nil {
		return c, a.explain(cctx, ref, err)
	}
	return c, withTask(&c, t.GetProcess(), ref)
}

// record reads a container's record, in the namespace ctx carries.
func (a *Adapter) record(ctx context.Context, ref, id string) (*containersapi.GetContainerResponse, error) {
	rec, err := containersapi.NewContainersClient(a.conn).Get(ctx, &containersapi.GetContainerRequest{ID: id})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return nil, fmt.Errorf("%s: %w (see 'cnsenter --list')", ref, runtime.ErrNotFound)
		}
		return nil, a.explain(ctx, ref, err)
	}
	return rec, nil
}

// withTask fills in what a task says, and fails unless it runs.
func withTask(c *runtime.Container, p *task.Process, ref string) error {
	c.Status = strings.ToLower(p.GetStatus().String())
	c.PID = int(p.GetPid())
	switch p.GetStatus() {
	case task.Status_RUNNING:
		return nil
	case task.Status_PAUSED:
		return fmt.Errorf("%s: container is paused: resume it first", ref)
	}
	return fmt.Errorf("%s: container is not running (%s): start it first", ref, c.Status)
}

// Namespaces lists containerd's namespaces.
func (a *Adapter) Namespaces(ctx context.Context) ([]string, error) {
	cctx, cancel := a.call(ctx, "")
	defer cancel()
	res, err := namespacesapi.NewNamespacesClient(a.conn).List(cctx, &namespacesapi.ListNamespacesRequest{})
	if err != nil {
		return nil, a.explain(cctx, "containerd", err)
	}
	var names []string
	for _, n := range res.GetNamespaces() {
		names = append(names, n.GetName())
	}
	return names, nil
}

// ListNamespace returns the running containers of one namespace: two round
// trips, whatever their number.
func (a *Adapter) ListNamespace(ctx context.Context, namespace string) ([]runtime.Container, error) {
	cctx, cancel := a.call(ctx, namespace)
	defer cancel()
	recs, err := containersapi.NewContainersClient(a.conn).List(cctx, &containersapi.ListContainersRequest{})
	if err != nil {
		return nil, a.explain(cctx, "containerd", err)
	}
	tasks, err := tasksapi.NewTasksClient(a.conn).List(cctx, &tasksapi.ListTasksRequest{})
	if err != nil {
		return nil, a.explain(cctx, "containerd", err)
	}
	image := map[string]string{}
	for _, r := range recs.GetContainers() {
		image[r.GetID()] = r.GetImage()
	}
	var list []runtime.Container
	for _, t := range tasks.GetTasks() {
		img, ok := image[t.GetID()]
		if !ok || t.GetStatus() != task.Status_RUNNING {
			continue
		}
		c := runtime.Container{Runtime: "containerd", Namespace: namespace, ID: t.GetID(), Name: t.GetID(), Image: img}
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

// Spec reads a container's OCI runtime spec (Docker's too: namespace
// "moby", same ID).
func (a *Adapter) Spec(ctx context.Context, namespace, id string) (*specs.Spec, error) {
	ref := "containerd://" + namespace + "/" + id
	cctx, cancel := a.call(ctx, namespace)
	defer cancel()
	rec, err := a.record(cctx, ref, id)
	if err != nil {
		return nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(rec.GetContainer().GetSpec().GetValue(), &spec); err != nil {
		return nil, fmt.Errorf("%s: the container's OCI spec cannot be read: %w", ref, err)
	}
	return &spec, nil
}

// explain turns a failure to talk to containerd into one line naming the
// socket and what to do.
func (a *Adapter) explain(ctx context.Context, what string, err error) error {
	msg := status.Convert(err).Message()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded:
		return fmt.Errorf("%s: containerd at %s did not answer within %s (is it hung? --timeout or CNSENTER_TIMEOUT change the deadline)", what, a.address, a.timeout)
	case strings.Contains(msg, "permission denied"):
		return fmt.Errorf("%s: permission denied on the containerd socket %s: run as root", what, a.address)
	case status.Code(err) == codes.Unavailable:
		return fmt.Errorf("%s: cannot reach containerd at %s (is containerd running? set CONTAINERD_ADDRESS or --containerd-address)", what, a.address)
	}
	return fmt.Errorf("%s: containerd at %s: %s", what, a.address, msg)
}

var _ runtime.Adapter = (*Adapter)(nil)
