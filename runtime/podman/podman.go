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
			{Name: "podman-root", Arg: "<dir>", Help: "Podman's storage root (default: CNSENTER_PODMAN_ROOT,\n" + DefaultRoot + ")"},
			{Name: "podman-runroot", Arg: "<dir>", Help: "Podman's run root (default: CNSENTER_PODMAN_RUNROOT,\n" + DefaultRunRoot + ")"},
		},
		New: func(c runtime.Config) (runtime.Adapter, error) {
			return New(Root(c.Get("podman-root")), RunRoot(c.Get("podman-runroot"))), nil
		},
	})
}

// Adapter reads one Podman store.
type Adapter struct {
	root, runRoot string
	// proc is /proc, and cgroupFS /sys/fs/cgroup: other directories in
	// unit tests.
	proc, cgroupFS string
}

// New makes an adapter for a storage root and a run root.
func New(root, runRoot string) *Adapter {
	return &Adapter{root: root, runRoot: runRoot, proc: "/proc", cgroupFS: "/sys/fs/cgroup"}
}

func (a *Adapter) Name() string { return "podman" }

// Endpoint is the storage root the adapter reads.
func (a *Adapter) Endpoint() string { return a.root }

// Close releases nothing: nothing is held open.
func (a *Adapter) Close() error { return nil }

// record is the part of a containers.json entry that is used.
type record struct {
	ID       string   `json:"id"`
	Names    []string `json:"names"`
	Image    string   `json:"image"`
	Metadata string   `json:"metadata"` // JSON again: Podman's image-name among others
	driver   string
}

// records reads every storage driver's containers.json under the root.
// No store at all is no container: Podman need not be installed.
func (a *Adapter) records() ([]record, error) {
	files, err := filepath.Glob(filepath.Join(a.root, "*-containers", "containers.json"))
	if err != nil {
		return nil, err
	}
	var all []record
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("Podman's store: %w", err)
		}
		var list []record
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("Podman's store: %s is not what containers/storage writes: %w", f, err)
		}
		driver := strings.TrimSuffix(filepath.Base(filepath.Dir(f)), "-containers")
		for _, r := range list {
			if !cgroupname.IsID(r.ID) {
				continue // not a name to build a path from
			}
			r.driver = driver
			all = append(all, r)
		}
	}
	return all, nil
}

// container is what the store and /proc say of a record.
func (a *Adapter) container(r record) runtime.Container {
	c := runtime.Container{Runtime: "podman", ID: r.ID, Image: r.Image, Status: "stopped", Reference: "podman://" + r.ID,
		// The bundle conmon was given (-b), in the host's store, out of
		// the container's reach.
		SpecFile: filepath.Join(a.root, r.driver+"-containers", r.ID, "userdata", "config.json")}
	if len(r.Names) > 0 {
		c.Name = r.Names[0]
	}
	var meta struct {
		ImageName string `json:"image-name"`
	}
	if json.Unmarshal([]byte(r.Metadata), &meta) == nil && meta.ImageName != "" {
		c.Image = meta.ImageName
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
// is alive and in the container's cgroup, and whether that cgroup is
// frozen (podman pause); 0 otherwise.
func (a *Adapter) running(r record) (int, bool) {
	data, err := os.ReadFile(filepath.Join(a.runRoot, r.driver+"-containers", r.ID, "userdata", "pidfile"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cgroups, err := os.ReadFile(filepath.Join(a.proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return 0, false // gone
	}
	paths := libpodCgroups(string(cgroups), r.ID)
	if paths == nil {
		return 0, false // a stale pidfile, its PID another process's now
	}
	return pid, a.frozen(paths)
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
// podman does: a full ID, then a name, then a prefix.
func (a *Adapter) Resolve(ctx context.Context, name string) (runtime.Container, error) {
	ref := "podman://" + name
	if err := cref.CheckName(name); err != nil {
		return runtime.Container{}, err
	}
	records, err := a.records()
	if err != nil {
		return runtime.Container{}, &runtime.Error{Runtime: "podman", Endpoint: a.root, Ref: ref, Err: err, Detail: err.Error()}
	}
	r, kind := match(records, name)
	switch kind {
	case runtime.NotFound:
		return runtime.Container{}, &runtime.Error{Kind: kind, Runtime: "podman", Endpoint: a.root, Ref: ref, Detail: "no such container in Podman's store"}
	case runtime.Ambiguous:
		return runtime.Container{}, &runtime.Error{Kind: kind, Runtime: "podman", Endpoint: a.root, Ref: ref, Detail: "the ID prefix matches several containers"}
	}
	c := a.container(r)
	if c.Status == "running" {
		return c, nil
	}
	state := "is not running"
	if c.Status == "paused" {
		state = "is paused"
	}
	return c, &runtime.Error{Kind: runtime.NotRunning, Runtime: "podman", Endpoint: a.root, Ref: ref, Detail: "container " + c.Name + " " + state, Container: c}
}

// Find is Resolve for a bare name: none found is not an error.
func (a *Adapter) Find(ctx context.Context, name string) ([]runtime.Container, error) {
	if cref.CheckName(name) != nil {
		return nil, nil
	}
	c, err := a.Resolve(ctx, name)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return []runtime.Container{c}, nil
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

// List returns the running containers, by name.
func (a *Adapter) List(ctx context.Context) ([]runtime.Container, error) {
	records, err := a.records()
	if err != nil {
		return nil, err
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
