package podman

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
	"github.com/cnsenter/cnsenter/internal/unixhttp"
	"github.com/cnsenter/cnsenter/runtime"
)

// DefaultTimeout bounds each call to a Podman service when none is given.
const DefaultTimeout = 5 * time.Second

// service is a Podman service (podman system service) asked through
// libpod's REST API on a unix socket, when one is given: its answers are
// Podman's own, for stores whose files we could not read or find.
//
// The API version is negotiated as the Docker adapter does, but from a
// floor: libpod answers no unversioned path but _ping, so the first
// request asks for 4.0.0, the answer's Libpod-API-Version header names the
// service's, and the later requests ask for that one. What is read
// (inspect's Id, Name, ImageName, State, OCIConfigPath, ConmonPidFile;
// the list's Id, Names, Image, State, Pid) is in libpod's API since 4.0.
type service struct {
	url, path string
	timeout   time.Duration

	mu      sync.Mutex
	version string
	uid     int // the service's, from its socket's peer credentials; -1 before
}

// newService checks a unix:// URL; nothing is dialled yet.
func newService(u string, timeout time.Duration) (*service, error) {
	path, ok := strings.CutPrefix(u, "unix://")
	if !ok || path == "" || !filepath.IsAbs(path) {
		return nil, fmt.Errorf("Podman service %q is not unix:///PATH: only a local socket is used", u)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &service{url: u, path: path, timeout: timeout, uid: -1}, nil
}

// apiError is the service's error answer.
type apiError struct {
	status  int
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

// Is: libpod's 404 on a container is "no such container".
func (e *apiError) Is(target error) bool { return e.status == 404 && target == runtime.ErrNotFound }

// get sends one request and decodes the JSON answer into v, within the
// context's deadline, else the service's timeout.
func (s *service) get(ctx context.Context, path string, v any) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(s.timeout)
	}
	s.mu.Lock()
	version := s.version
	s.mu.Unlock()
	if version == "" {
		version = "4.0.0"
	}
	path = "/v" + version + path
	answer, err := unixhttp.Get(s.path, "podman", path, deadline)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return &runtime.Error{Kind: runtime.Timeout, Runtime: "podman", Endpoint: s.url, Detail: "Podman service " + s.url + " did not answer within " + s.timeout.String(), Err: err}
		case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED):
			return &runtime.Error{Kind: runtime.Unreachable, Runtime: "podman", Endpoint: s.url, Detail: "cannot reach the Podman service at " + s.url, Err: err}
		case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
			return &runtime.Error{Kind: runtime.Denied, Runtime: "podman", Endpoint: s.url, Detail: "permission denied on the Podman service socket " + s.path, Err: err}
		}
		return &runtime.Error{Runtime: "podman", Endpoint: s.url, Detail: "Podman service " + s.url + ": " + err.Error(), Err: err}
	}
	status, version, body, uid := answer.Status, libpodVersion(answer), answer.Body, answer.PeerUID
	s.mu.Lock()
	if s.version == "" {
		s.version = version
	}
	s.uid = uid
	s.mu.Unlock()
	if status != 200 {
		e := &apiError{status: status}
		if json.Unmarshal(body, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("HTTP %d: %.200q", status, body)
		}
		return e
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &runtime.Error{Runtime: "podman", Endpoint: s.url, Detail: "Podman service " + s.url + " gave an answer that is not libpod's", Err: err}
	}
	return nil
}

// libpodVersion is the libpod API version an answer's Libpod-API-Version
// header names, "" when none, or not a version.
func libpodVersion(a unixhttp.Answer) string {
	if v := a.Header["libpod-api-version"]; isVersion(v) {
		return v
	}
	return ""
}

// isVersion accepts what libpod names its versions: "4.3.1". It goes
// into the path of later requests, so nothing else may.
func isVersion(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 || len(v) > 20 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// inspectAnswer is the part of GET /libpod/containers/NAME/json used.
type inspectAnswer struct {
	ID        string `json:"Id"`
	Name      string
	ImageName string
	State     struct {
		Status  string
		Running bool
		Paused  bool
		Pid     int
	}
	OCIConfigPath string
	ConmonPidFile string
}

// resolveService asks the service for a container; the PID it answers
// with is checked as a store's is, the service's uid standing for the
// store's owner, and so is the spec file it names.
func (a *Adapter) resolveService(ctx context.Context, name string) (runtime.Container, error) {
	ref := "podman://" + name
	fail := func(kind runtime.Kind, detail string) (runtime.Container, error) {
		return runtime.Container{}, &runtime.Error{Kind: kind, Runtime: "podman", Endpoint: a.api.url, Ref: ref, Detail: detail}
	}
	var in inspectAnswer
	if err := a.api.get(ctx, "/libpod/containers/"+url.PathEscape(name)+"/json", &in); err != nil {
		var e *runtime.Error
		switch {
		case errors.Is(err, runtime.ErrNotFound):
			return fail(runtime.NotFound, "no such container in Podman service "+a.api.url)
		case errors.As(err, &e):
			e.Ref = ref
			return runtime.Container{}, e
		}
		return fail(runtime.Failed, "Podman service "+a.api.url+": "+err.Error())
	}
	if !cgroupname.IsID(in.ID) {
		return fail(runtime.Failed, fmt.Sprintf("Podman service %s answered with an ID that is not one: %.80q", a.api.url, in.ID))
	}
	c := runtime.Container{Runtime: "podman", ID: in.ID, Name: strings.TrimPrefix(in.Name, "/"), Image: in.ImageName, Status: "stopped", Reference: "podman://" + in.ID}
	uid := a.api.serviceUID()
	switch {
	case in.State.Paused:
		c.Status = "paused"
	case in.State.Running && in.State.Pid > 0:
		if _, ok := a.isInit(in.State.Pid, in.ID, uid, in.ConmonPidFile); !ok {
			return fail(runtime.Failed, fmt.Sprintf("Podman service %s names process %d, which is not container %s's init", a.api.url, in.State.Pid, c.Name))
		}
		c.Status, c.PID = "running", in.State.Pid
	}
	if uid > 0 {
		// A user's service: see Adapter.container.
		c.RootlessUID = uid
		if filepath.IsAbs(in.ConmonPidFile) {
			c.MonitorPIDFile = in.ConmonPidFile
		}
	}
	// The spec the service names: root's word, or a file of the service's
	// user's, else none (the commands then say why they need one).
	if file := in.OCIConfigPath; filepath.IsAbs(file) {
		if _, err := os.Stat(file); err == nil || uid != 0 {
			spec(&c, file, uid)
		}
	}
	return a.state(ref, c)
}

func (s *service) serviceUID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uid
}

// listAnswer is the part of an entry of GET /libpod/containers/json used.
type listAnswer struct {
	ID    string `json:"Id"`
	Names []string
	Image string
	State string
	Pid   int
}

// listService lists the service's running containers.
func (a *Adapter) listService(ctx context.Context) ([]runtime.Container, error) {
	var answer []listAnswer
	if err := a.api.get(ctx, "/libpod/containers/json", &answer); err != nil {
		return nil, err
	}
	uid := a.api.serviceUID()
	var list []runtime.Container
	for _, in := range answer {
		if in.State != "running" || !cgroupname.IsID(in.ID) || in.Pid <= 0 {
			continue
		}
		// Shown, not entered: the PID must be the container's, as far as
		// the list tells (no conmon pidfile in it).
		if uid == 0 && !a.inLibpodCgroup(in.Pid, in.ID) || uid != 0 && !inUserNamespaceOf(a.proc, in.Pid, uid) {
			continue
		}
		c := runtime.Container{Runtime: "podman", ID: in.ID, Image: in.Image, Status: "running", PID: in.Pid, Reference: "podman://" + in.ID}
		if uid > 0 {
			c.RootlessUID = uid
		}
		if len(in.Names) > 0 {
			c.Name = in.Names[0]
		}
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}
