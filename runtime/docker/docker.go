// Package docker resolves Docker containers through the Engine API.
//
// It speaks the two requests it needs (inspect and list) itself, as HTTP/1.0
// GETs on the unix socket, rather than linking the moby client or even
// net/http: measured here, the moby client added 4 MiB and 2.5 ms of
// start-up to every run of cnsenter, PID targets included, and net/http
// (with the TLS code it brings) 3.7 MiB and a few tenths of a millisecond.
// An HTTP/1.0 request gets an answer whose body runs to the end of the
// connection (no chunked encoding), which is all there is to read.
package docker

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cnsenter/cnsenter/internal/unixhttp"
	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/containerd"
	cref "github.com/cnsenter/cnsenter/runtime/ref"
)

func init() {
	runtime.Register(runtime.Runtime{
		Name: "docker", Rank: 10, Syntax: "NAME|ID",
		Options: []runtime.Option{{Name: "docker-host", Arg: "<url>", Help: "Docker endpoint (default: DOCKER_HOST, docker context)"}},
		New: func(c runtime.Config) (runtime.Adapter, error) {
			host, err := Endpoint(EndpointOptions{Host: c.Get("docker-host")})
			if err != nil {
				return nil, err
			}
			a, err := New(host, c.Timeout)
			if err == nil {
				a.ContainerdAddress = containerd.Address(c.Get("containerd-address"))
			}
			return a, err
		},
	})
}

// Adapter talks to one Docker engine.
//
// The API version is negotiated at no cost: the first request of a session
// names none, so the engine answers in its own current version, which
// every answer names in its Api-Version header; the session's later
// requests ask for that version, so that all of its answers are of one
// version. No version is pinned that a newer engine could stop accepting
// (an engine may raise the oldest version it accepts, DOCKER_MIN_API_VERSION), and
// what is read of the answers (a container's ID, name, image, state, PID
// and added groups) has not changed since Docker 20.10 (API 1.41); the
// end-to-end tests run against Debian's 20.10 and today's engine.
type Adapter struct {
	host    string
	path    string // of the socket
	timeout time.Duration

	mu      sync.Mutex
	version string // the engine's API version, once an answer has named it

	// ContainerdAddress is the containerd that runs dockerd's containers
	// (namespace "moby"), asked to confirm a container found in dockerd's
	// state on disk while dockerd did not answer; "" not to ask.
	ContainerdAddress string
}

// New makes an adapter for a unix:// endpoint (see Endpoint). Every call
// gets timeout as its deadline.
func New(host string, timeout time.Duration) (*Adapter, error) {
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok || path == "" {
		return nil, fmt.Errorf("Docker endpoint %s is not a unix socket", host)
	}
	return &Adapter{host: host, path: path, timeout: timeout}, nil
}

func (a *Adapter) Name() string { return "docker" }

// Endpoint is the endpoint the adapter talks to.
func (a *Adapter) Endpoint() string { return a.host }

// Close releases nothing: every request has a connection of its own.
func (a *Adapter) Close() error { return nil }

// inspect is the part of GET /containers/{id}/json that is used.
type inspect struct {
	ID         string `json:"Id"`
	Name       string
	Config     struct{ Image string }
	HostConfig struct{ GroupAdd []string }
	State      struct {
		Status  string
		Running bool
		Paused  bool
		Pid     int
	}
}

// apiError is the engine's error body.
type apiError struct {
	status  int
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

// get sends one request and decodes the JSON answer into v. The context's
// deadline bounds the connection, the request and the answer.
func (a *Adapter) get(ctx context.Context, path string, v any) error {
	_, err := a.getFrom(ctx, path, v)
	return err
}

// getFrom is get, and the uid of the engine that answered (SO_PEERCRED):
// a rootless dockerd's user, as seen from here, through rootlesskit's user
// namespace.
func (a *Adapter) getFrom(ctx context.Context, path string, v any) (int, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(a.timeout)
	}
	a.mu.Lock()
	if a.version != "" {
		path = "/v" + a.version + path
	}
	a.mu.Unlock()
	answer, err := unixhttp.Get(a.path, "docker", path, deadline)
	if err != nil {
		return -1, err
	}
	status, version, body := answer.Status, apiVersion(answer), answer.Body
	if version != "" {
		a.mu.Lock()
		if a.version == "" {
			a.version = version
		}
		a.mu.Unlock()
	}
	if status != 200 {
		e := &apiError{status: status}
		if json.Unmarshal(body, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("HTTP %d: %.200s", status, body)
		}
		return answer.PeerUID, e
	}
	return answer.PeerUID, json.Unmarshal(body, v)
}

// apiVersion is the API version an answer's Api-Version header names, ""
// when none, or not a version.
func apiVersion(a unixhttp.Answer) string {
	if v := a.Header["api-version"]; isAPIVersion(v) {
		return v
	}
	return ""
}

// isAPIVersion accepts what an engine names its versions: "1.56". It goes
// into the path of the session's later requests, so nothing else may.
func isAPIVersion(v string) bool {
	major, minor, ok := strings.Cut(v, ".")
	return ok && len(v) <= 10 && cref.IsNumber(major) && cref.IsNumber(minor)
}

// Resolve finds a running container by name, ID or unique ID prefix, in
// one round trip: the engine itself matches all three. When dockerd does
// not answer, its state on disk does, and containerd confirms the PID.
func (a *Adapter) Resolve(ctx context.Context, name string) (runtime.Container, error) {
	if err := cref.CheckName(name); err != nil {
		return runtime.Container{}, err
	}
	name = strings.TrimPrefix(name, "/")
	c, err := a.inspect(ctx, name)
	if runtime.KindOf(err) != runtime.Unreachable && runtime.KindOf(err) != runtime.Timeout {
		return c, err
	}
	// The daemon is down or hung; its containers may run on.
	root := DataRoot(a.host)
	c, diskErr := ResolveOnDisk(root, name)
	if diskErr != nil && c.ID == "" {
		// One error, of the daemon's kind, that says both.
		var e, d *runtime.Error
		if errors.As(err, &e) && errors.As(diskErr, &d) {
			e.Detail += "; " + d.Detail
			return runtime.Container{}, e
		}
		return runtime.Container{}, fmt.Errorf("%w; %w", err, diskErr)
	}
	c.Note = fmt.Sprintf("%s; found in dockerd's state on disk (%s): the daemon was bypassed", err, root)
	if diskErr != nil {
		return c, diskErr
	}
	return a.confirm(ctx, c)
}

// Find is Resolve for a bare name: none found is not an error.
func (a *Adapter) Find(ctx context.Context, name string) ([]runtime.Container, error) {
	if cref.CheckName(name) != nil {
		return nil, nil // no Docker name has that form
	}
	return runtime.FindOne(a.Resolve(ctx, name))
}

// inspect asks the engine.
func (a *Adapter) inspect(ctx context.Context, name string) (runtime.Container, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	ref := "docker://" + name
	var c inspect
	uid, err := a.getFrom(ctx, "/containers/"+url.PathEscape(name)+"/json", &c)
	if err != nil {
		var e *apiError
		switch {
		case errors.As(err, &e) && e.status == 404:
			return runtime.Container{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "docker", Endpoint: a.host, Ref: ref}
		case errors.As(err, &e) && strings.Contains(strings.ToLower(e.Message), "multiple ids found"):
			return runtime.Container{}, &runtime.Error{Kind: runtime.Ambiguous, Runtime: "docker", Endpoint: a.host, Ref: ref,
				Detail: "the ID prefix matches several containers"}
		}
		return runtime.Container{}, a.explain(ctx, ref, err)
	}
	found := container(c.ID, c.Name, c.Config.Image)
	found.Status, found.PID, found.GroupAdd = c.State.Status, c.State.Pid, c.HostConfig.GroupAdd
	if uid > 0 {
		// A rootless dockerd's: on cgroup v1 its containers have no
		// cgroup, and their shim, running as its user, vouches for them.
		found.RootlessUID = uid
	}
	switch {
	case c.State.Paused:
		return found, notRunning(a.host, found, "is paused")
	case !c.State.Running || c.State.Pid <= 0:
		return found, notRunning(a.host, found, "is not running ("+found.Status+")")
	}
	return found, nil
}

// container is a Docker container as every adapter names it.
func container(id, name, image string) runtime.Container {
	return runtime.Container{Runtime: "docker", Namespace: "moby", ID: id, Name: strings.TrimPrefix(name, "/"),
		Image: image, Reference: "docker://" + id, Task: "moby"}
}

// notRunning is the error for a container with no process to enter.
func notRunning(endpoint string, c runtime.Container, state string) error {
	return &runtime.Error{Kind: runtime.NotRunning, Runtime: "docker", Endpoint: endpoint, Ref: "docker://" + c.Name,
		Detail: "container " + c.Name + " " + state, Container: c}
}

// confirm asks containerd, whose "moby" namespace holds Docker's
// containers, for the PID of a container found in dockerd's state on disk
// while dockerd did not answer. Without containerd, the state on disk
// stands (the caller still checks the PID's cgroups).
func (a *Adapter) confirm(ctx context.Context, c runtime.Container) (runtime.Container, error) {
	if a.ContainerdAddress == "" {
		return c, nil
	}
	cd, err := containerd.New(a.ContainerdAddress, a.timeout)
	if err != nil {
		return c, nil
	}
	defer cd.Close()
	live, err := cd.Get(ctx, "moby", c.ID)
	switch {
	case err == nil:
		c.PID, c.Status = live.PID, live.Status
		c.Note += "; its PID confirmed by containerd (namespace moby)"
		return c, nil
	case live.ID != "" || errors.Is(err, runtime.ErrNotFound):
		return c, fmt.Errorf("docker://%s: containerd says: %w", c.Name, err)
	}
	return c, nil // containerd does not answer either: the state on disk stands
}

// List returns the running containers, each inspected for its PID.
func (a *Adapter) List(ctx context.Context) ([]runtime.Container, error) {
	lctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	var summaries []struct {
		ID string `json:"Id"`
	}
	if err := a.get(lctx, "/containers/json", &summaries); err != nil {
		return nil, a.explain(lctx, "docker", err)
	}
	var list []runtime.Container
	for _, s := range summaries {
		c, err := a.Resolve(ctx, s.ID)
		if err != nil {
			continue // gone or stopped since it was listed
		}
		list = append(list, c)
	}
	return list, nil
}

// explain turns a failure to talk to the engine into a runtime.Error
// naming the endpoint.
func (a *Adapter) explain(ctx context.Context, what string, err error) error {
	e := &runtime.Error{Runtime: "docker", Endpoint: a.host, Ref: what, Err: err}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.Detail = runtime.Timeout, fmt.Sprintf("Docker at %s did not answer within %s", a.host, a.timeout)
	case errors.Is(err, syscall.EACCES):
		e.Kind, e.Detail = runtime.Denied, "permission denied on the Docker socket "+a.host
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// Gone, never there, or dying as we spoke.
		e.Kind, e.Detail = runtime.Unreachable, "cannot reach Docker at "+a.host
	default:
		e.Detail = fmt.Sprintf("Docker at %s: %v", a.host, err)
	}
	return e
}

var _ runtime.Adapter = (*Adapter)(nil)

// InspectJSON is the engine's whole record of a container (GET
// /containers/{id}/json), as it answers it: for evidence bundles. id is a
// full ID that Resolve gave.
func (a *Adapter) InspectJSON(ctx context.Context, id string) (json.RawMessage, error) {
	return a.rawGet(ctx, "/containers/", id)
}

// ImageJSON is the engine's record of an image (GET /images/{id}/json).
func (a *Adapter) ImageJSON(ctx context.Context, id string) (json.RawMessage, error) {
	return a.rawGet(ctx, "/images/", id)
}

// rawGet gets PREFIX/ID/json; an ID is the engine's (hex, or
// sha256:hex), and nothing else goes into the path.
func (a *Adapter) rawGet(ctx context.Context, prefix, id string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	digits := strings.TrimPrefix(id, "sha256:")
	if _, err := hex.DecodeString(digits); err != nil || digits == "" {
		return nil, fmt.Errorf("%q is not an ID of Docker's", id)
	}
	var raw json.RawMessage
	if err := a.get(ctx, prefix+id+"/json", &raw); err != nil {
		return nil, a.explain(ctx, "docker", err)
	}
	return raw, nil
}
