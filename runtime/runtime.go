// Package runtime is the engine layer: what a container runtime must answer
// (the Adapter interface), what it answers with (Container), how it fails
// (Error), and the registry through which every command finds the runtimes
// linked into it. Each runtime lives in a folder of its own under runtime/
// and registers itself from its init function; runtime/all links them all.
// Adding a runtime is one new folder and one import line there.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Container is what a runtime knows about one container.
type Container struct {
	Runtime string `json:"runtime"` // the adapter's Name: "docker", "containerd", "podman", "cri", "cgroup"
	// Namespace is the runtime's own: containerd's namespace, "moby" for
	// Docker's containers, the Kubernetes namespace for CRI's; empty when
	// the runtime has none.
	Namespace string `json:"namespace"`
	ID        string `json:"id"`   // full ID
	Name      string `json:"name"` // the name people know it by: Docker's name, the containerd ID, POD/CONTAINER for CRI
	Image     string `json:"image"`
	Status    string `json:"status"` // "running", "created", "stopped", ...
	PID       int    `json:"pid"`    // init PID in the caller's PID namespace; 0 when not running
	// Reference is the container's full reference, unambiguous across
	// runtimes (Ref gives a default when the adapter sets none).
	Reference string `json:"ref"`
	// GroupAdd is Docker's --group-add (HostConfig.GroupAdd): groups,
	// names or numbers, that every process of the container gets, those
	// of docker exec --user too.
	GroupAdd []string `json:"-"`
	// Task is the containerd namespace whose task runs the container
	// ("moby" for Docker's, "k8s.io" for CRI's on containerd), where its
	// OCI spec can be asked for; empty when no containerd runs it.
	Task string `json:"-"`
	// SpecFile is the container's OCI spec on the host, when the runtime
	// keeps it where a file read finds it (Podman's bundle).
	SpecFile string `json:"-"`
	// Spec is the container's OCI spec as JSON, when the runtime gave it
	// with the container and neither Task nor SpecFile leads to it (a CRI
	// runtime without containerd: CRI-O).
	Spec []byte `json:"-"`
	// RootlessUID is the uid of the user whose rootless engine runs the
	// container (a Podman store or service of a user's, a rootless
	// dockerd); 0 for root's engines. Such a container may have no cgroup
	// of its own (cgroup v1): its init is then known by its monitor,
	// conmon or containerd's shim, which must run as this uid (enter.Pin).
	// A container of root's engines is never known by a monitor, whose
	// command line anybody can forge. It is the user's word, too: --list
	// does not let it hide another container with the same ID.
	RootlessUID int `json:"-"`
	// MonitorPIDFile is the file where the engine keeps the PID of the
	// container's monitor (Podman's conmon.pid), when it has one: the
	// monitor is then that process, not any that names the container on
	// its command line.
	MonitorPIDFile string `json:"-"`
	// Note says how the container was found when not the usual way (the
	// engine bypassed); the caller prints it.
	Note string `json:"note,omitempty"`
}

// Ref is the container's full reference, unambiguous across runtimes.
func (c Container) Ref() string {
	if c.Reference != "" {
		return c.Reference
	}
	return c.Runtime + "://" + c.ID
}

// Adapter is one container runtime.
type Adapter interface {
	// Name is the reference scheme the adapter answers to ("docker").
	Name() string
	// Endpoint is what it talks to or reads (a socket, a directory), for
	// messages.
	Endpoint() string
	// Resolve finds the running container a reference names, given
	// without its scheme, in the runtime's own syntax
	// (containerd's NAMESPACE/ID, CRI's NAMESPACE/POD/CONTAINER).
	Resolve(ctx context.Context, ref string) (Container, error)
	// Find returns every running container a bare name (a name, an ID or
	// a unique ID prefix) names: none is not an error. A container that
	// matches but does not run is an Error of kind NotRunning.
	Find(ctx context.Context, name string) ([]Container, error)
	// List returns the running containers.
	List(ctx context.Context) ([]Container, error)
	// Close releases what the adapter holds.
	Close() error
}

// Config is what an adapter is made with.
type Config struct {
	// Timeout is the deadline of each call to the engine.
	Timeout time.Duration
	// Option gives the value of one of the adapter's options (Runtime's
	// Options: "docker-host", say), "" when not given: the adapter then
	// takes its environment variable and its ecosystem's default.
	Option func(name string) string
}

// Get is the option's value, "" when not given.
func (c Config) Get(name string) string {
	if c.Option == nil {
		return ""
	}
	return c.Option(name)
}

// Option is a command-line option a runtime takes: --NAME VALUE.
type Option struct {
	Name string // "docker-host"
	Arg  string // "<url>", as the help shows it
	Help string // one line or more, as the help shows it
}

// Runtime is one registered runtime.
type Runtime struct {
	Name string
	// Rank orders the runtimes: in --list, and when one container is known
	// to several (Docker's are containerd's too, CRI's on containerd too),
	// the lowest rank names it.
	Rank int
	// Syntax is what follows the scheme, for messages: "NAME|ID".
	Syntax string
	// Fallback runtimes are asked for a bare name only when no other
	// runtime knows it (the cgroup scan).
	Fallback bool
	Options  []Option
	New      func(Config) (Adapter, error)
}

var (
	mu       sync.Mutex
	runtimes []Runtime
)

// Register adds a runtime; each adapter package calls it from init.
func Register(r Runtime) {
	mu.Lock()
	defer mu.Unlock()
	for _, have := range runtimes {
		if have.Name == r.Name {
			panic("runtime " + r.Name + " registered twice") // a programming error, never input
		}
	}
	runtimes = append(runtimes, r)
	sort.SliceStable(runtimes, func(i, j int) bool { return runtimes[i].Rank < runtimes[j].Rank })
}

// Registered returns the registered runtimes, by rank.
func Registered() []Runtime {
	mu.Lock()
	defer mu.Unlock()
	return append([]Runtime(nil), runtimes...)
}

// Lookup finds a registered runtime by its scheme.
func Lookup(name string) (Runtime, bool) {
	for _, r := range Registered() {
		if r.Name == name {
			return r, true
		}
	}
	return Runtime{}, false
}

// Kind is what went wrong with a runtime.
type Kind int

const (
	// Failed is any other failure: the engine's own error, an answer that
	// cannot be read.
	Failed Kind = iota
	// Unreachable: nothing listens on the endpoint, or it hung up.
	Unreachable
	// Timeout: the engine did not answer within the deadline.
	Timeout
	// Denied: the caller may not use the endpoint, or the container is
	// another user's.
	Denied
	// NotFound: the runtime knows no such container.
	NotFound
	// Ambiguous: the reference names several containers (Matches).
	Ambiguous
	// NotRunning: the container exists but runs no process to enter.
	NotRunning
)

var kindNames = [...]string{"failed", "unreachable", "timeout", "denied", "not found", "ambiguous", "not running"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Error is a runtime's failure. Its message names the reference and the
// runtime and endpoint; it suggests nothing: each command words its own
// remedy from Kind.
type Error struct {
	Kind     Kind
	Runtime  string // the adapter's Name
	Endpoint string // the socket or directory it used
	Ref      string // the reference, in full ("docker://web")
	// Detail says what happened, in the runtime's terms ("container web
	// is paused").
	Detail string
	// Matches are the full references an ambiguous reference names.
	Matches []string
	// Container is the container found, for NotRunning.
	Container Container
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Ref != "" {
		b.WriteString(e.Ref + ": ")
	}
	switch {
	case e.Detail != "":
		b.WriteString(e.Detail)
	case e.Kind == NotFound:
		b.WriteString("no such container")
	case e.Kind == Ambiguous:
		b.WriteString("names several containers: " + strings.Join(e.Matches, ", "))
	default:
		b.WriteString(e.Kind.String())
	}
	if e.Err != nil && e.Detail == "" {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinels of each kind: errors.Is(err, runtime.ErrNotFound).
func (e *Error) Is(target error) bool {
	k, ok := sentinels[target]
	return ok && k == e.Kind
}

// The sentinels errors.Is matches an Error's Kind with.
var (
	ErrNotFound    = errors.New("no such container")
	ErrUnreachable = errors.New("unreachable")
	ErrTimeout     = errors.New("timeout")
	ErrDenied      = errors.New("permission denied")
	ErrAmbiguous   = errors.New("ambiguous")
	ErrNotRunning  = errors.New("not running")
)

var sentinels = map[error]Kind{
	ErrNotFound: NotFound, ErrUnreachable: Unreachable, ErrTimeout: Timeout,
	ErrDenied: Denied, ErrAmbiguous: Ambiguous, ErrNotRunning: NotRunning,
}

// KindOf is the Kind of the first Error in err's chain, Failed when none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Failed
}

// Files are the files of a container that runs no process, or of an
// image, as its engine keeps them: what a session shows read-only when
// there is nothing to enter. Every path was read from the engine's state
// and checked by the adapter: IDs of their known forms, nothing that
// leads out of the engine's directories.
type Files struct {
	// Layers are directories, topmost first: a container's writable
	// layer, then its image's.
	Layers []string
	// Mounts are a container's volumes and bind mounts, parents first.
	Mounts []Mount
	// Note says how they were found when not the usual way.
	Note string
}

// Mount is a host directory or file at a place in a container.
type Mount struct {
	Source      string // on the host
	Destination string // in the container
}

// Filesystem is an Adapter that shows what is not running: the files of a
// container with no process (created, exited, dead), and of an image, read
// from the engine's state, with its daemon up or down.
type Filesystem interface {
	// ContainerFiles are the files of a container Resolve found not
	// running (the Container of its NotRunning Error).
	ContainerFiles(ctx context.Context, c Container) (Files, error)
	// ImageFiles are the files of an image, named in the runtime's own
	// syntax (what follows the scheme).
	ImageFiles(ctx context.Context, image string) (Files, error)
}

// FindOne is Find's answer from Resolve's, for a runtime where a name
// names one container at most: none found is no error.
func FindOne(c Container, err error) ([]Container, error) {
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return []Container{c}, nil
}
