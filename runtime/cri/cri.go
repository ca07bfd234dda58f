// Package cri resolves Kubernetes containers by the names kubectl shows
// (namespace, pod, container) through the Container Runtime Interface, the
// kubelet's API to its runtime (runtime.v1: containerd's CRI plugin,
// CRI-O, cri-dockerd), with the project's own gRPC client.
package cri

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cnsenter/cnsenter/internal/grpc"
	"github.com/cnsenter/cnsenter/runtime"
)

func init() {
	// After docker (10), before containerd (30): a CRI container on
	// containerd is also containerd's, in its k8s.io namespace, and is
	// best named by its Kubernetes names.
	runtime.Register(runtime.Runtime{
		Name: "cri", Rank: 20, Syntax: "NAMESPACE/POD/CONTAINER|NAMESPACE/POD|POD",
		Options: []runtime.Option{{Name: "cri-endpoint", Arg: "<path>",
			Help: "CRI socket (default: CONTAINER_RUNTIME_ENDPOINT,\nelse containerd's, CRI-O's, as crictl)"}},
		New: func(c runtime.Config) (runtime.Adapter, error) {
			return New(c.Get("cri-endpoint"), c.Timeout)
		},
	})
}

// DefaultEndpoints are where a CRI runtime listens when none is given, in
// crictl's order (cri-tools, cmd/crictl/main_unix.go).
var DefaultEndpoints = []string{"/run/containerd/containerd.sock", "/run/crio/crio.sock", "/var/run/cri-dockerd.sock"}

// DefaultNamespace is the Kubernetes namespace of cri://POD, as kubectl's.
const DefaultNamespace = "default"

// The labels the kubelet puts on pod sandboxes and containers; read when a
// runtime's metadata lacks a name (the metadata carries the same names).
const (
	labelNamespace = "io.kubernetes.pod.namespace"
	labelPod       = "io.kubernetes.pod.name"
	labelContainer = "io.kubernetes.container.name"
)

// Adapter talks to one CRI runtime.
type Adapter struct {
	timeout    time.Duration
	candidates []string // the sockets to try, in order; one when given
	explicit   bool     // given by --cri-endpoint or CONTAINER_RUNTIME_ENDPOINT

	mu       sync.Mutex // guards what follows, while choosing the endpoint
	endpoint string     // the socket that answered
	client   *grpc.Client
	runtime  version
	// none: no endpoint was given and no default one is a CRI runtime
	// (none exists, or a containerd without its CRI plugin): a machine
	// without Kubernetes, where a bare name or --list finds no CRI
	// container rather than fails.
	none bool
}

// New makes an adapter for a CRI endpoint: explicit (--cri-endpoint),
// else CONTAINER_RUNTIME_ENDPOINT, else the first of DefaultEndpoints that
// answers as a CRI runtime. unix:// may prefix a path. No connection is
// made until the first call; each operation gets timeout as its deadline.
func New(explicit string, timeout time.Duration) (*Adapter, error) {
	a := &Adapter{timeout: timeout}
	given := explicit
	if given == "" {
		given = os.Getenv("CONTAINER_RUNTIME_ENDPOINT")
	}
	if given == "" {
		a.candidates = DefaultEndpoints
		return a, nil
	}
	path, err := socketPath(given)
	if err != nil {
		return nil, err
	}
	a.candidates, a.explicit = []string{path}, true
	return a, nil
}

// socketPath is the path of a unix endpoint, with or without unix://.
func socketPath(endpoint string) (string, error) {
	path := endpoint
	if scheme, rest, ok := strings.Cut(endpoint, "://"); ok {
		if scheme != "unix" {
			return "", fmt.Errorf("CRI endpoint %q: only unix sockets are supported (unix:///PATH or /PATH)", endpoint)
		}
		path = rest
	}
	if path == "" || !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("CRI endpoint %q: give the absolute path of a unix socket", endpoint)
	}
	return path, nil
}

func (a *Adapter) Name() string { return "cri" }

// Endpoint is the socket in use; before the first call, the one that will
// be tried (the candidates, when none was given).
func (a *Adapter) Endpoint() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.endpoint != "" {
		return a.endpoint
	}
	return strings.Join(a.candidates, " or ")
}

// Close releases the connection.
func (a *Adapter) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client == nil {
		return nil
	}
	return a.client.Close()
}

// connect picks the endpoint, once: the given one, or the first default
// one that exists and answers Version (a containerd whose CRI plugin is
// disabled answers Unimplemented: CRI-O's socket is tried next). Its
// Version says which runtime it is.
func (a *Adapter) connect(ctx context.Context, ref string) (*grpc.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		return a.client, nil
	}
	var first error
	none := !a.explicit
	for _, path := range a.candidates {
		if !a.explicit {
			if _, err := os.Stat(path); err != nil {
				continue // not on this machine: nothing to wait for
			}
		}
		client := grpc.NewClient(path)
		res, err := client.Call(ctx, methodVersion, encodeVersion())
		var v version
		if err == nil {
			v, err = decodeVersion(res)
		}
		if err == nil {
			a.client, a.endpoint, a.runtime = client, path, v
			return client, nil
		}
		client.Close()
		if first == nil {
			first = a.explain(ctx, ref, path, err)
		}
		var status *grpc.StatusError
		if !errors.As(err, &status) || status.Code != grpc.CodeUnimplemented {
			none = false
		}
		if ctx.Err() != nil {
			break
		}
	}
	a.none = none
	if first == nil {
		first = &runtime.Error{Kind: runtime.Unreachable, Runtime: "cri", Endpoint: strings.Join(a.candidates, " or "), Ref: ref,
			Detail: "no CRI runtime on this machine: none of " + strings.Join(a.candidates, ", ") + " exists"}
	} else if none {
		first = &runtime.Error{Kind: runtime.Unreachable, Runtime: "cri", Endpoint: strings.Join(a.candidates, " or "), Ref: ref,
			Detail: "no CRI runtime on this machine: none of " + strings.Join(a.candidates, ", ") + " serves the CRI API", Err: first}
	}
	return nil, first
}

// call makes one call on the connected endpoint.
func (a *Adapter) call(ctx context.Context, ref, method string, request []byte) ([]byte, error) {
	client, err := a.connect(ctx, ref)
	if err != nil {
		return nil, err
	}
	res, err := client.Call(ctx, method, request)
	if err != nil {
		return nil, a.explain(ctx, ref, a.endpoint, err)
	}
	return res, nil
}

// deadline gives ctx the adapter's deadline, for one or more calls.
func (a *Adapter) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, a.timeout)
}

// pod is a ready sandbox with the Kubernetes names.
type pod struct {
	id, namespace, name string
}

// target is a container with its pod.
type target struct {
	ctr
	pod pod
}

func (t target) reference() string {
	return "cri://" + t.pod.namespace + "/" + t.pod.name + "/" + t.name
}

// pods lists the ready sandboxes, by ID.
func (a *Adapter) pods(ctx context.Context, ref string) (map[string]pod, error) {
	res, err := a.call(ctx, ref, methodSandboxes, encodeListPodSandbox())
	if err != nil {
		return nil, err
	}
	list, err := decodeSandboxes(res)
	if err != nil {
		return nil, a.malformed(ref, err)
	}
	pods := make(map[string]pod, len(list))
	for _, s := range list {
		if !s.ready {
			continue // a runtime that ignored the filter
		}
		p := pod{id: s.id, namespace: s.namespace, name: s.name}
		if p.namespace == "" {
			p.namespace = s.labels[labelNamespace]
		}
		if p.name == "" {
			p.name = s.labels[labelPod]
		}
		pods[s.id] = p
	}
	return pods, nil
}

// containers lists the containers of the ready pods (of one, if sandboxID
// is given), running or not, with their pods. A sandbox's own (pause)
// container is no CRI container: it is never listed.
func (a *Adapter) containers(ctx context.Context, ref string, pods map[string]pod, sandboxID string) ([]target, error) {
	res, err := a.call(ctx, ref, methodContainers, encodeListContainers(sandboxID, noStateFilter))
	if err != nil {
		return nil, err
	}
	list, err := decodeContainers(res)
	if err != nil {
		return nil, a.malformed(ref, err)
	}
	var targets []target
	for _, c := range list {
		p, ok := pods[c.sandboxID]
		if !ok {
			continue
		}
		if c.name == "" {
			c.name = c.labels[labelContainer]
		}
		targets = append(targets, target{ctr: c, pod: p})
	}
	return targets, nil
}

// status asks for a running container's PID and fills in the Container.
func (a *Adapter) status(ctx context.Context, ref string, t target) (runtime.Container, error) {
	c := runtime.Container{Runtime: "cri", Namespace: t.pod.namespace, ID: t.id, Name: t.pod.name + "/" + t.name,
		Image: t.image, Status: stateName(t.state), Reference: t.reference()}
	res, err := a.call(ctx, ref, methodStatus, encodeContainerStatus(t.id))
	var status *grpc.StatusError
	if errors.As(err, &status) && status.Code == grpc.CodeNotFound {
		// Gone since the listing: the pod was deleted meanwhile.
		return c, &runtime.Error{Kind: runtime.NotFound, Runtime: "cri", Endpoint: a.endpoint, Ref: ref,
			Detail: "container " + c.Reference + " was removed (is its pod being deleted?)", Err: err}
	}
	if err != nil {
		return c, err
	}
	st, err := decodeStatus(res)
	if err != nil {
		return c, a.malformed(ref, err)
	}
	if st.image != "" {
		c.Image = st.image
	}
	c.Status = stateName(st.state)
	if st.state != containerRunning {
		return c, &runtime.Error{Kind: runtime.NotRunning, Runtime: "cri", Endpoint: a.endpoint, Ref: ref, Container: c,
			Detail: "container " + c.Reference + " is not running (" + c.Status + ")"}
	}
	if st.pid <= 0 {
		return c, &runtime.Error{Kind: runtime.Failed, Runtime: "cri", Endpoint: a.endpoint, Ref: ref,
			Detail: "the CRI runtime at " + a.endpoint + " gives no PID for running container " + c.Reference}
	}
	c.PID = st.pid
	switch a.runtime.runtimeName {
	case "containerd":
		// containerd's CRI plugin keeps its containers, and their OCI
		// specs, in its namespace k8s.io, under the same IDs.
		c.Task = "k8s.io"
	case "docker":
		// cri-dockerd's are Docker's, which containerd keeps in moby.
		c.Task = "moby"
	default:
		// No containerd to ask (CRI-O): the spec the runtime gave with
		// the status, from the same root's socket as the PID.
		c.Spec = st.spec
	}
	return c, nil
}

// Resolve finds the running container of "NAMESPACE/POD/CONTAINER",
// "NAMESPACE/POD" (the pod's one running container) or "POD" (in namespace
// default).
func (a *Adapter) Resolve(ctx context.Context, r string) (runtime.Container, error) {
	ref := shown("cri://" + r)
	ns, podName, ctrName, err := parse(r)
	if err != nil {
		return runtime.Container{}, &runtime.Error{Kind: runtime.Failed, Runtime: "cri", Ref: ref, Detail: err.Error()}
	}
	ctx, cancel := a.deadline(ctx)
	defer cancel()
	pods, err := a.pods(ctx, ref)
	if err != nil {
		return runtime.Container{}, err
	}
	var sandboxes []string
	for id, p := range pods {
		if p.namespace == ns && p.name == podName {
			sandboxes = append(sandboxes, id)
		}
	}
	if len(sandboxes) == 0 {
		return runtime.Container{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "cri", Endpoint: a.endpoint, Ref: ref,
			Detail: "no running pod " + podName + " in namespace " + ns}
	}
	sandboxID := ""
	if len(sandboxes) == 1 {
		sandboxID = sandboxes[0] // else, briefly during a restart, all of them
	}
	all, err := a.containers(ctx, ref, pods, sandboxID)
	if err != nil {
		return runtime.Container{}, err
	}
	var running, stopped []target
	for _, t := range all {
		if t.pod.namespace != ns || t.pod.name != podName || ctrName != "" && t.name != ctrName {
			continue
		}
		if t.state == containerRunning {
			running = append(running, t)
		} else {
			stopped = append(stopped, t)
		}
	}
	switch {
	case len(running) == 1:
		return a.status(ctx, ref, running[0])
	case len(running) > 1:
		return runtime.Container{}, &runtime.Error{Kind: runtime.Ambiguous, Runtime: "cri", Endpoint: a.endpoint, Ref: ref,
			Matches: references(running)}
	case len(stopped) > 0:
		t := newest(stopped)
		c := runtime.Container{Runtime: "cri", Namespace: ns, ID: t.id, Name: podName + "/" + t.name, Image: t.image,
			Status: stateName(t.state), Reference: t.reference()}
		return c, &runtime.Error{Kind: runtime.NotRunning, Runtime: "cri", Endpoint: a.endpoint, Ref: ref, Container: c,
			Detail: "container " + c.Reference + " is not running (" + c.Status + ")"}
	case ctrName != "":
		return runtime.Container{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "cri", Endpoint: a.endpoint, Ref: ref,
			Detail: "pod " + ns + "/" + podName + " has no container " + ctrName}
	}
	return runtime.Container{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "cri", Endpoint: a.endpoint, Ref: ref,
		Detail: "pod " + ns + "/" + podName + " has no running container"}
}

// newest is the container of the latest attempt: the one a restart made.
func newest(list []target) target {
	best := list[0]
	for _, t := range list[1:] {
		if t.attempt > best.attempt {
			best = t
		}
	}
	return best
}

func references(list []target) []string {
	refs := make([]string, 0, len(list))
	for _, t := range list {
		refs = append(refs, t.reference())
	}
	sort.Strings(refs)
	return refs
}

// shown is a reference as messages show it: quoted when it has anything
// but printable characters, so that a message stays one line.
func shown(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s || strings.ContainsRune(s, ' ') {
		return q
	}
	return s
}

// parse splits a reference without its scheme into Kubernetes names.
func parse(r string) (namespace, pod, container string, err error) {
	parts := strings.Split(r, "/")
	switch len(parts) {
	case 1:
		namespace, pod = DefaultNamespace, parts[0]
	case 2:
		namespace, pod = parts[0], parts[1]
	case 3:
		namespace, pod, container = parts[0], parts[1], parts[2]
	default:
		return "", "", "", errors.New("not a reference: give cri://NAMESPACE/POD/CONTAINER, cri://NAMESPACE/POD or cri://POD")
	}
	for i, name := range parts {
		if err := checkName(name); err != nil {
			what := [][]string{{"pod"}, {"namespace", "pod"}, {"namespace", "pod", "container"}}[len(parts)-1][i]
			return "", "", "", fmt.Errorf("not a reference: the %s name %s", what, err)
		}
	}
	return namespace, pod, container, nil
}

// checkName accepts Kubernetes names (DNS labels and subdomains: lower-case
// letters, digits, '-' and '.'), and, as a CRI runtime takes any name from
// its client, upper-case letters and '_' too; nothing that would make a
// message two lines or a reference another reference.
func checkName(name string) error {
	if name == "" {
		return errors.New("is empty")
	}
	if len(name) > 253 {
		return errors.New("is longer than 253 characters")
	}
	if c := name[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return fmt.Errorf("%q does not start with a letter or a digit", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%q has %q, which no Kubernetes name has", name, r)
		}
	}
	return nil
}

// Find returns the running containers a bare name names, as a crictl user
// would mean it: a container ID (the whole of it), else every container
// of that name (CONTAINER), or of that pod (POD: each of its containers),
// in any namespace, else the containers whose ID starts with name. The pod
// sandboxes' IDs name no container: their pause process is not a target.
// A machine without a CRI runtime has none of them: that is no error
// unless an endpoint was given.
func (a *Adapter) Find(ctx context.Context, name string) ([]runtime.Container, error) {
	ref := shown(name)
	if checkName(name) != nil {
		return nil, nil // no CRI container has such a name
	}
	ctx, cancel := a.deadline(ctx)
	defer cancel()
	pods, err := a.pods(ctx, ref)
	if err != nil {
		return nil, a.unlessNone(err)
	}
	all, err := a.containers(ctx, ref, pods, "")
	if err != nil {
		return nil, err
	}
	var byID, byName, byPrefix []target
	for _, t := range all {
		switch {
		case t.id == name:
			byID = append(byID, t)
		case t.name == name || t.pod.name == name:
			byName = append(byName, t)
		case strings.HasPrefix(t.id, name):
			byPrefix = append(byPrefix, t)
		}
	}
	matches := byID
	if len(matches) == 0 {
		matches = byName
	}
	if len(matches) == 0 {
		matches = byPrefix
	}
	var running, stopped []target
	for _, t := range matches {
		if t.state == containerRunning {
			running = append(running, t)
		} else {
			stopped = append(stopped, t)
		}
	}
	if len(running) == 0 && len(stopped) > 0 {
		t := newest(stopped)
		c := runtime.Container{Runtime: "cri", Namespace: t.pod.namespace, ID: t.id, Name: t.pod.name + "/" + t.name,
			Image: t.image, Status: stateName(t.state), Reference: t.reference()}
		return nil, &runtime.Error{Kind: runtime.NotRunning, Runtime: "cri", Endpoint: a.endpoint, Ref: name, Container: c,
			Detail: "container " + c.Reference + " is not running (" + c.Status + ")"}
	}
	return a.statuses(ctx, ref, running)
}

// unlessNone is err, or nil on a machine without a CRI runtime (none).
func (a *Adapter) unlessNone(err error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.none {
		return nil
	}
	return err
}

// List returns the running containers of the ready pods: none, and no
// error, on a machine without a CRI runtime when no endpoint was given.
func (a *Adapter) List(ctx context.Context) ([]runtime.Container, error) {
	ctx, cancel := a.deadline(ctx)
	defer cancel()
	pods, err := a.pods(ctx, "")
	if err != nil {
		return nil, a.unlessNone(err)
	}
	all, err := a.containers(ctx, "", pods, "")
	if err != nil {
		return nil, err
	}
	var running []target
	for _, t := range all {
		if t.state == containerRunning {
			running = append(running, t)
		}
	}
	return a.statuses(ctx, "", running)
}

// statuses asks each container for its PID: one round trip each, as the
// CRI gives PIDs only in a container's status. One that stopped or went
// meanwhile is left out.
func (a *Adapter) statuses(ctx context.Context, ref string, list []target) ([]runtime.Container, error) {
	sort.Slice(list, func(i, j int) bool { return list[i].reference() < list[j].reference() })
	var found []runtime.Container
	for _, t := range list {
		c, err := a.status(ctx, ref, t)
		switch k := runtime.KindOf(err); {
		case err == nil:
			found = append(found, c)
		case k == runtime.NotFound || k == runtime.NotRunning:
		default:
			return found, err
		}
	}
	return found, nil
}

// malformed is an answer that cannot be read.
func (a *Adapter) malformed(ref string, err error) error {
	return &runtime.Error{Kind: runtime.Failed, Runtime: "cri", Endpoint: a.endpoint, Ref: ref,
		Detail: "unreadable answer from the CRI runtime at " + a.endpoint + ": " + err.Error(), Err: err}
}

// explain types a failure to talk to the CRI runtime at endpoint, naming
// it; the commands add their remedies.
func (a *Adapter) explain(ctx context.Context, ref, endpoint string, err error) error {
	var status *grpc.StatusError
	isStatus := errors.As(err, &status)
	var unreachable grpc.Unreachable
	e := &runtime.Error{Runtime: "cri", Endpoint: endpoint, Ref: ref, Err: err}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.DeadlineExceeded) || isStatus && status.Code == grpc.CodeDeadlineExceeded:
		e.Kind, e.Detail = runtime.Timeout, fmt.Sprintf("the CRI runtime at %s did not answer within %s", endpoint, a.timeout)
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || isStatus && status.Code == grpc.CodePermissionDenied:
		e.Kind, e.Detail = runtime.Denied, "permission denied on the CRI socket "+endpoint
	case isStatus && status.Code == grpc.CodeUnimplemented:
		// containerd with its CRI plugin disabled (Docker's, often).
		e.Kind, e.Detail = runtime.Unreachable, endpoint+" serves no CRI API (runtime.v1): "+status.Message
	case errors.As(err, &unreachable) || isStatus && status.Code == grpc.CodeUnavailable:
		e.Kind, e.Detail = runtime.Unreachable, "cannot reach the CRI runtime at "+endpoint+": "+err.Error()
	case isStatus:
		e.Kind, e.Detail = runtime.Failed, "the CRI runtime at "+endpoint+": "+status.Message
	default:
		e.Kind, e.Detail = runtime.Failed, "the CRI runtime at "+endpoint+": "+err.Error()
	}
	return e
}

var _ runtime.Adapter = (*Adapter)(nil)
