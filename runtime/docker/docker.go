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
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/runtime"
	cref "github.com/cnsenter/cnsenter/runtime/ref"
)

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

// Host is the endpoint the adapter talks to.
func (a *Adapter) Host() string { return a.host }

// quiet wraps an error for errors.Is without adding to the message.
type quietError struct{ error }

func (quietError) Error() string { return "" }

func (q quietError) Unwrap() error { return q.error }

func quiet(err error) error { return quietError{err} }

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
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(a.timeout)
	}
	a.mu.Lock()
	if a.version != "" {
		path = "/v" + a.version + path
	}
	a.mu.Unlock()
	answer, err := a.roundTrip(path, deadline)
	if err != nil {
		return err
	}
	status, version, body, err := parseAnswer(answer)
	if err != nil {
		return err
	}
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
		return e
	}
	return json.Unmarshal(body, v)
}

// roundTrip connects, sends "GET PATH HTTP/1.0" and reads the answer to
// the end of the connection, each step bounded by the deadline through the
// socket's own timeouts.
func (a *Adapter) roundTrip(path string, deadline time.Time) ([]byte, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	left := time.Until(deadline)
	if left <= 0 {
		return nil, context.DeadlineExceeded
	}
	tv := unix.NsecToTimeval(left.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv) // connect too, on a unix socket
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: a.path}); err != nil {
		return nil, timedOut(err)
	}
	request := "GET " + path + " HTTP/1.0\r\nHost: docker\r\nUser-Agent: cnsenter\r\n\r\n"
	for sent := 0; sent < len(request); {
		n, err := unix.Write(fd, []byte(request[sent:]))
		if err != nil {
			return nil, timedOut(err)
		}
		sent += n
	}
	var answer []byte
	buf := make([]byte, 32<<10)
	for {
		if time.Now().After(deadline) {
			return nil, context.DeadlineExceeded
		}
		n, err := unix.Read(fd, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return nil, timedOut(err)
		}
		if n == 0 {
			return answer, nil
		}
		if answer = append(answer, buf[:n]...); len(answer) > 64<<20 {
			return nil, errors.New("the answer is larger than 64 MiB")
		}
	}
}

// timedOut says a socket timeout as a deadline.
func timedOut(err error) error {
	if err == unix.EAGAIN || err == unix.EINPROGRESS {
		return context.DeadlineExceeded
	}
	return err
}

// parseAnswer splits an HTTP answer into its status, the API version its
// Api-Version header names ("" when none, or not a version), and its body.
func parseAnswer(answer []byte) (int, string, []byte, error) {
	head, body, ok := bytes.Cut(answer, []byte("\r\n\r\n"))
	if !ok {
		if len(answer) == 0 {
			return 0, "", nil, io.EOF // the daemon closed without a word
		}
		return 0, "", nil, fmt.Errorf("not an HTTP answer: %.80q", answer)
	}
	statusLine, headers, _ := bytes.Cut(head, []byte("\r\n"))
	fields := strings.Fields(string(statusLine))
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return 0, "", nil, fmt.Errorf("not an HTTP answer: %.80q", statusLine)
	}
	status, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0, "", nil, fmt.Errorf("not an HTTP status: %q", fields[1])
	}
	version := ""
	for _, line := range strings.Split(string(headers), "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "transfer-encoding":
			if strings.EqualFold(strings.TrimSpace(value), "chunked") {
				return 0, "", nil, errors.New("the daemon answered HTTP/1.0 in chunks")
			}
		case "api-version":
			if v := strings.TrimSpace(value); isAPIVersion(v) {
				version = v
			}
		}
	}
	return status, version, body, nil
}

// isAPIVersion accepts what an engine names its versions: "1.56". It goes
// into the path of the session's later requests, so nothing else may.
func isAPIVersion(v string) bool {
	major, minor, ok := strings.Cut(v, ".")
	return ok && len(v) <= 10 && cref.IsNumber(major) && cref.IsNumber(minor)
}

// Resolve finds a running container by name, ID or unique ID prefix, in
// one round trip: the engine itself matches all three.
func (a *Adapter) Resolve(ctx context.Context, name string) (runtime.Container, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	ref := "docker://" + name
	if err := cref.CheckName(name); err != nil {
		return runtime.Container{}, err
	}
	var c inspect
	if err := a.get(ctx, "/containers/"+url.PathEscape(name)+"/json", &c); err != nil {
		var e *apiError
		switch {
		case errors.As(err, &e) && e.status == 404:
			return runtime.Container{}, fmt.Errorf("%s: %w (see 'cnsenter --list')", ref, runtime.ErrNotFound)
		case errors.As(err, &e) && strings.Contains(strings.ToLower(e.Message), "multiple ids found"):
			return runtime.Container{}, fmt.Errorf("%s: the ID prefix matches several containers: give more of the ID", ref)
		}
		failure := a.explain(ctx, ref, err)
		if !errors.Is(failure, errUnreachable) {
			return runtime.Container{}, failure
		}
		// The daemon is down or hung; its containers may run on.
		root := DataRoot(a.host)
		c, diskErr := ResolveOnDisk(root, name)
		if diskErr != nil && c.ID == "" {
			return runtime.Container{}, fmt.Errorf("%w; %w", failure, diskErr)
		}
		c.Note = fmt.Sprintf("%s; found in dockerd's state on disk (%s): the daemon was bypassed", failure, root)
		return c, diskErr
	}
	found := runtime.Container{
		Runtime: "docker", Namespace: "moby", ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"),
		Image: c.Config.Image, Status: c.State.Status, PID: c.State.Pid, GroupAdd: c.HostConfig.GroupAdd,
	}
	switch {
	case c.State.Paused:
		return found, fmt.Errorf("%s: container %s is paused: unpause it first", ref, found.Name)
	case !c.State.Running || c.State.Pid <= 0:
		return found, fmt.Errorf("%s: container %s is not running (%s): start it first", ref, found.Name, found.Status)
	}
	return found, nil
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

// explain turns a failure to talk to the engine into one line naming the
// endpoint and what to do.
func (a *Adapter) explain(ctx context.Context, what string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: Docker at %s did not answer within %s (is dockerd hung? --timeout or CNSENTER_TIMEOUT change the deadline)%w", what, a.host, a.timeout, quiet(errUnreachable))
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s: permission denied on the Docker socket %s: run as root", what, a.host)
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// Gone, never there, or dying as we spoke.
		return fmt.Errorf("%s: cannot reach Docker at %s (is dockerd running? set DOCKER_HOST or --docker-host)%w", what, a.host, quiet(errUnreachable))
	}
	return fmt.Errorf("%s: Docker at %s: %w", what, a.host, err)
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
