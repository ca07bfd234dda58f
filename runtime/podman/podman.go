// Package podman resolves Podman containers from Podman's own state on
// disk, without running podman and without a service: Podman keeps no
// daemon, and its state is files.
//
// containers/storage lists the containers (ID, names, image) in
// STORAGE_ROOT/DRIVER-containers/containers.json; the OCI runtime writes a
// running container's init PID to RUN_ROOT/DRIVER-containers/ID/userdata/pidfile
// (conmon's -p), which stays behind, stale, when the container stops. So a
// container runs when the process its pidfile names is alive and in the
// container's own cgroup (libpod-ID, or libpod-ID.scope under systemd),
// which also proves the PID was not taken over. libpod's own database
// (bolt_state.db) would give the state too, but would bring a BoltDB
// dependency for what the files and /proc already say.
package podman

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
	"github.com/cnsenter/cnsenter/runtime"
	cref "github.com/cnsenter/cnsenter/runtime/ref"
)

// Podman's defaults for root (containers-storage.conf(5)).
const (
	DefaultRoot    = "/var/lib/containers/storage"
	DefaultRunRoot = "/run/containers/storage"
)

// Root is the storage root: the option, else CNSENTER_PODMAN_ROOT, else
// Podman's default for root.
func Root(option string) string {
	return pick(option, "CNSENTER_PODMAN_ROOT", DefaultRoot)
}

// RunRoot is the run root: the option, else CNSENTER_PODMAN_RUNROOT, else
// Podman's default for root.
func RunRoot(option string) string {
	return pick(option, "CNSENTER_PODMAN_RUNROOT", DefaultRunRoot)
}

func pick(option, env, def string) string {
	if option != "" {
		return option
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

func init() {
	runtime.Register(runtime.Runtime{
		Name: "podman", Rank: 40, Syntax: "NAME|ID",
		Options: []runtime.Option{
			{Name: "podman-root", Arg: "<dir>", Help: "Podman's storage root (default: CNSENTER_PODMAN_ROOT,\nstorage.conf's graphroot, " + DefaultRoot + ";\nfor a user, its rootless store)"},
			{Name: "podman-runroot", Arg: "<dir>", Help: "Podman's run root (default: CNSENTER_PODMAN_RUNROOT,\nstorage.conf's runroot, " + DefaultRunRoot + ";\nfor a user, its rootless run root)"},
			{Name: "podman-url", Arg: "<url>", Help: "ask this Podman service (unix:///PATH; default:\nCONTAINER_HOST) instead of reading Podman's files"},
		},
		New: func(c runtime.Config) (runtime.Adapter, error) {
			return Open(Options{Root: c.Get("podman-root"), RunRoot: c.Get("podman-runroot"), URL: c.Get("podman-url"), Timeout: c.Timeout})
		},
	})
}

// store is one containers/storage store: its graph root (containers.json,
// the bundles), its run root (the pidfiles) and the uid that owns it.
type store struct {
	root, runRoot string
	uid           int // the graph root's owner; -1 when it cannot be told
}

func newStore(root, runRoot string) *store {
	s := &store{root: root, runRoot: runRoot, uid: -1}
	if st, err := os.Stat(root); err == nil {
		s.uid = owner(st)
	}
	return s
}

// Adapter reads Podman's stores, or asks a Podman service.
type Adapter struct {
	// own is the caller's store: root's, or an unprivileged caller's
	// rootless one, or the one the options name.
	own *store
	// others: the rootless stores of the other users, as their running
	// conmon processes name them, are searched too (a root caller, who
	// may enter them).
	others bool
	// api, when set, is the Podman service asked instead of the files.
	api *service
	// proc is /proc, and cgroupFS /sys/fs/cgroup: other directories in
	// unit tests.
	proc, cgroupFS string
	euid           int
}

// New makes an adapter for a storage root and a run root.
func New(root, runRoot string) *Adapter {
	return &Adapter{own: newStore(root, runRoot), proc: "/proc", cgroupFS: "/sys/fs/cgroup", euid: os.Geteuid()}
}

// Options choose where the adapter looks: empty fields take Podman's own
// defaults for the caller.
type Options struct {
	Root, RunRoot string // --podman-root, --podman-runroot
	URL           string // --podman-url: the Podman service, unix://PATH
	Timeout       time.Duration
}

// Open makes the adapter the options ask for. A service URL (--podman-url,
// else CONTAINER_HOST as podman --remote takes it) is asked through
// Podman's REST API. Otherwise the store on disk is read: the root and
// run root given (else CNSENTER_PODMAN_ROOT, CNSENTER_PODMAN_RUNROOT),
// else where Podman run by the caller keeps them (storeFor: its
// containers-storage.conf, its rootless defaults for a user other than
// root). A root caller also searches the rootless stores of other users.
// Nothing is dialled yet.
func Open(o Options) (*Adapter, error) {
	url := o.URL
	if url == "" {
		url = os.Getenv("CONTAINER_HOST")
	}
	if url != "" {
		svc, err := newService(url, o.Timeout)
		if err != nil {
			return nil, err
		}
		a := New("", "")
		a.api = svc
		return a, nil
	}
	root := pick(o.Root, "CNSENTER_PODMAN_ROOT", "")
	runRoot := pick(o.RunRoot, "CNSENTER_PODMAN_RUNROOT", "")
	euid := os.Geteuid()
	root, runRoot, err := storeFor(env{uid: euid, getenv: os.Getenv}, root, runRoot)
	if err != nil {
		return nil, err
	}
	a := New(root, runRoot)
	a.others = euid == 0
	return a, nil
}

func (a *Adapter) Name() string { return "podman" }

// Endpoint is the service's URL, or the store's graph root.
func (a *Adapter) Endpoint() string {
	if a.api != nil {
		return a.api.url
	}
	return a.own.root
}

// Close releases nothing: nothing is held open.
func (a *Adapter) Close() error { return nil }

// record is the part of a containers.json entry that is used.
type record struct {
	ID       string   `json:"id"`
	Names    []string `json:"names"`
	Image    string   `json:"image"`
	Metadata string   `json:"metadata"` // JSON again: Podman's image-name among others
	driver   string
	store    *store
}

// records reads every storage driver's containers.json under a store's
// root. No store at all is no container: Podman need not be installed.
func (a *Adapter) records(st *store) ([]record, error) {
	if fi, err := os.Stat(st.root); err == nil && st.uid < 0 {
		st.uid = owner(fi)
	}
	drivers, err := st.drivers()
	if err != nil {
		return nil, err
	}
	var all []record
	for _, driver := range drivers {
		f := filepath.Join(st.root, driver+"-containers", "containers.json")
		data, err := readBeneath(st.root, filepath.Join(driver+"-containers", "containers.json"), st.uid, jsonLimit)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("Podman's store: %w", err)
		}
		var list []record
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("Podman's store: %s is not what containers/storage writes: %w", f, err)
		}
		for _, r := range list {
			if !cgroupname.IsID(r.ID) {
				continue // not a name to build a path from
			}
			r.driver, r.store = driver, st
			all = append(all, r)
		}
	}
	return all, nil
}

// container is what the store and /proc say of a record.
func (a *Adapter) container(r record) runtime.Container {
	c := runtime.Container{Runtime: "podman", ID: r.ID, Image: r.Image, Status: "stopped", Reference: "podman://" + r.ID}
	// The bundle conmon was given (-b), in the host's store, out of the
	// container's reach.
	spec(&c, filepath.Join(r.store.root, r.driver+"-containers", r.ID, "userdata", "config.json"), r.store.uid)
	if len(r.Names) > 0 {
		c.Name = r.Names[0]
	}
	var meta struct {
		ImageName string `json:"image-name"`
	}
	if json.Unmarshal([]byte(r.Metadata), &meta) == nil && meta.ImageName != "" {
		c.Image = meta.ImageName
	}
	if r.store.uid > 0 {
		// A user's store: its container's init may be known only by
		// its conmon, the one whose PID the store keeps.
		c.RootlessUID = r.store.uid
		c.MonitorPIDFile = filepath.Join(r.store.runRoot, r.driver+"-containers", r.ID, "userdata", "conmon.pid")
	}
	pid, paused := a.running(r)
	switch {
	case paused:
		c.Status, c.PID = "paused", pid
	case pid > 0:
		c.Status, c.PID = "running", pid
	}
	return c
}

// running is the container's init PID when the process its pidfile names
// is alive and the container's (see isInit), and whether its cgroup is
// frozen (podman pause); 0 otherwise.
func (a *Adapter) running(r record) (int, bool) {
	userdata := filepath.Join(r.driver+"-containers", r.ID, "userdata")
	data, err := readBeneath(r.store.runRoot, filepath.Join(userdata, "pidfile"), r.store.uid, pidLimit)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	paths, ok := a.isInit(pid, r.ID, r.store.uid, filepath.Join(r.store.runRoot, userdata, "conmon.pid"))
	if !ok {
		return 0, false
	}
	return pid, a.frozen(paths)
}

// inLibpodCgroup tells whether process pid is in container id's cgroup.
func (a *Adapter) inLibpodCgroup(pid int, id string) bool {
	cgroups, err := os.ReadFile(filepath.Join(a.proc, strconv.Itoa(pid), "cgroup"))
	return err == nil && libpodCgroups(string(cgroups), id) != nil
}

// isInit tells whether process pid is container id's init, as a store (or
// a service) owned by uid says, and returns its libpod cgroups. The
// process must be alive and in the container's own cgroup (libpod-ID, or
// libpod-ID.scope), which also proves the PID was not taken over; or, for
// a rootless container, which cgroup v1 gives no cgroup of its own, the
// child of the container's conmon. A store of a user other than root is
// that user's word alone, and could name anybody's process: its
// container's process must also run in a user namespace that user owns
// (rootless Podman's), where that user holds every right already.
func (a *Adapter) isInit(pid int, id string, uid int, conmonPidfile string) (map[string]string, bool) {
	cgroups, err := os.ReadFile(filepath.Join(a.proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return nil, false // gone
	}
	paths := libpodCgroups(string(cgroups), id)
	if uid == 0 {
		return paths, paths != nil // else a stale pidfile, its PID another process's now
	}
	if paths == nil && !childOfConmon(a.proc, pid, conmonPidfile, id, uid) {
		return nil, false
	}
	return paths, uid > 0 && inUserNamespaceOf(a.proc, pid, uid)
}

// libpodCgroups returns, by controller ("" for cgroup v2's), the paths of a
// /proc/PID/cgroup that name container id as Podman does (an element
// libpod-ID, or libpod-ID.scope); nil when none does.
func libpodCgroups(cgroups, id string) map[string]string {
	var paths map[string]string
	for _, line := range strings.Split(cgroups, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, k := range cgroupname.Keys(parts[2]) {
			if k.ID == id && strings.HasPrefix(k.Form, "libpod-") {
				if paths == nil {
					paths = map[string]string{}
				}
				paths[parts[1]] = parts[2]
				break
			}
		}
	}
	return paths
}

// frozen tells whether the container's cgroup is frozen: cgroup v1's
// freezer, else v2's cgroup.freeze.
func (a *Adapter) frozen(paths map[string]string) bool {
	for controllers, path := range paths {
		for _, c := range strings.Split(controllers, ",") {
			if c == "freezer" {
				state, err := os.ReadFile(filepath.Join(a.cgroupFS, "freezer", path, "freezer.state"))
				return err == nil && strings.TrimSpace(string(state)) != "THAWED"
			}
		}
	}
	if path, ok := paths[""]; ok {
		state, err := os.ReadFile(filepath.Join(a.cgroupFS, path, "cgroup.freeze"))
		return err == nil && strings.TrimSpace(string(state)) == "1"
	}
	return false
}

// Resolve finds a running container by name, ID or unique ID prefix, as
// podman does: a full ID, then a name, then a prefix. The caller's own
// store comes first; a root caller's search goes on in the other users'
// rootless stores (several matches there are ambiguous); an unprivileged
// caller is told whose the container is when another user's conmon names
// it.
func (a *Adapter) Resolve(ctx context.Context, name string) (runtime.Container, error) {
	ref := "podman://" + name
	if err := cref.CheckName(name); err != nil {
		return runtime.Container{}, err
	}
	if a.api != nil {
		return a.resolveService(ctx, name)
	}
	records, err := a.records(a.own)
	if err != nil {
		return runtime.Container{}, &runtime.Error{Runtime: "podman", Endpoint: a.Endpoint(), Ref: ref, Err: err, Detail: err.Error()}
	}
	r, kind := match(records, name)
	if kind == runtime.NotFound && a.others {
		return a.resolveOthers(ref, name)
	}
	switch kind {
	case runtime.NotFound:
		if e := a.anotherUsers(ref, name); e != nil {
			return runtime.Container{}, e
		}
		return runtime.Container{}, &runtime.Error{Kind: kind, Runtime: "podman", Endpoint: a.Endpoint(), Ref: ref, Detail: "no such container in Podman's store"}
	case runtime.Ambiguous:
		return runtime.Container{}, &runtime.Error{Kind: kind, Runtime: "podman", Endpoint: a.Endpoint(), Ref: ref, Detail: "the ID prefix matches several containers"}
	}
	return a.state(ref, a.container(r))
}

// state is the container when it runs; the error saying why not otherwise.
func (a *Adapter) state(ref string, c runtime.Container) (runtime.Container, error) {
	if c.Status == "running" {
		return c, nil
	}
	state := "is not running"
	if c.Status == "paused" {
		state = "is paused"
	}
	return c, &runtime.Error{Kind: runtime.NotRunning, Runtime: "podman", Endpoint: a.Endpoint(), Ref: ref, Detail: "container " + c.Name + " " + state, Container: c}
}

// otherStores are the rootless stores of users other than the caller, as
// their running conmon processes name them: a store its user owns.
func (a *Adapter) otherStores() []*store {
	seen := map[string]bool{a.own.root: true}
	var stores []*store
	for _, c := range conmons(a.proc) {
		root, runRoot, ok := c.store()
		if !ok || c.uid == a.euid || seen[root] {
			continue
		}
		seen[root] = true
		if st := newStore(root, runRoot); st.uid == c.uid {
			stores = append(stores, st)
		}
	}
	return stores
}

// resolveOthers finds a name in the other users' stores (a root caller):
// several matches there are ambiguous, each named by its ID.
func (a *Adapter) resolveOthers(ref, name string) (runtime.Container, error) {
	var found []record
	for _, st := range a.otherStores() {
		records, err := a.records(st)
		if err != nil {
			continue // another user's store, which may be half-written
		}
		if r, kind := match(records, name); kind == runtime.Failed {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return runtime.Container{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "podman", Endpoint: a.Endpoint(), Ref: ref,
			Detail: "no such container in Podman's store, nor in another user's"}
	case 1:
		return a.state(ref, a.container(found[0]))
	}
	refs := make([]string, len(found))
	for i, r := range found {
		refs[i] = "podman://" + r.ID
	}
	return runtime.Container{}, &runtime.Error{Kind: runtime.Ambiguous, Runtime: "podman", Endpoint: a.Endpoint(), Ref: ref, Matches: refs,
		Detail: "names several users' containers: " + strings.Join(refs, ", ")}
}

// anotherUsers says whose a container is that the caller's store does not
// have but another user's conmon names (by name, ID or ID prefix): the
// caller can neither enter it nor read that user's store.
func (a *Adapter) anotherUsers(ref, name string) error {
	for _, c := range conmons(a.proc) {
		if c.uid == a.euid || !(c.name == name || strings.HasPrefix(c.id, name)) {
			continue
		}
		return &runtime.Error{Kind: runtime.Denied, Runtime: "podman", Endpoint: a.Endpoint(), Ref: ref,
			Detail:    "container " + c.name + " is " + whose(c.uid) + ", not in your rootless store",
			Container: runtime.Container{Runtime: "podman", ID: c.id, Name: c.name}}
	}
	return nil
}

// Find is Resolve for a bare name: none found is not an error.
func (a *Adapter) Find(ctx context.Context, name string) ([]runtime.Container, error) {
	if cref.CheckName(name) != nil {
		return nil, nil
	}
	return runtime.FindOne(a.Resolve(ctx, name))
}

// match picks the record a name, full ID or unique ID prefix names; when
// none or several, the kind of failure.
func match(records []record, name string) (record, runtime.Kind) {
	for _, r := range records {
		if r.ID == name {
			return r, runtime.Failed
		}
	}
	for _, r := range records {
		for _, n := range r.Names {
			if n == name {
				return r, runtime.Failed
			}
		}
	}
	var found []record
	for _, r := range records {
		if strings.HasPrefix(r.ID, name) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return record{}, runtime.NotFound
	case 1:
		return found[0], runtime.Failed
	}
	return record{}, runtime.Ambiguous
}

// List returns the running containers, by name: the caller's own, and a
// root caller's the other users' too.
func (a *Adapter) List(ctx context.Context) ([]runtime.Container, error) {
	if a.api != nil {
		return a.listService(ctx)
	}
	records, err := a.records(a.own)
	if err != nil {
		return nil, err
	}
	if a.others {
		for _, st := range a.otherStores() {
			if more, err := a.records(st); err == nil {
				records = append(records, more...)
			}
		}
	}
	var list []runtime.Container
	for _, r := range records {
		if c := a.container(r); c.Status == "running" {
			list = append(list, c)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}

var _ runtime.Adapter = (*Adapter)(nil)
