// Package cgroupscan finds a container without asking any runtime: by the
// cgroup its runtime put it in, read from /proc/*/cgroup. It is how a
// container is reached when no daemon answers, or when none knows it (a
// runtime cnsenter has no client for). Its init is the oldest process of
// that cgroup whose parent is outside it: the runtime's shim or monitor
// starts the init, and everything else in the container descends from the
// init, or (docker exec) is younger.
package cgroupscan

import (
	"github.com/cnsenter/cnsenter/internal/procfs"

	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
	"github.com/cnsenter/cnsenter/runtime"
)

// MinPrefix is the shortest ID prefix the scan takes: the short ID that
// docker ps and cnsenter --list show. A shorter hex string is too likely a
// name, or a typo, to enter whichever container happens to start with it.
const MinPrefix = 12

// Proc is what the scan reads of one process.
type Proc struct {
	PID, PPID int
	Start     uint64 // start time after boot, in clock ticks (stat field 22)
	Keys      []cgroupname.Key
	// Roots are, for each key, the cgroups that name it ("HIERARCHY:PATH").
	Roots map[string][]string
}

// Init is a container found by the scan: its key and its init.
type Init struct {
	cgroupname.Key
	PID   int
	Start uint64
	// Places, when set, are the several cgroups of one hierarchy that
	// name the same key: a container that may create cgroups below its
	// own (its cgroup file system writable) can make one named as another
	// container, and move an old process of its own there to pass for
	// that one's init. Such a key is not entered.
	Places []string
}

// Inits picks each container's init among procs: the oldest process of its
// cgroup whose parent is not in it (ties: the lower PID). Sorted by key.
func Inits(procs []Proc) []Init {
	member := map[string]map[int]bool{} // key -> PIDs in it
	for _, p := range procs {
		for _, k := range p.Keys {
			if member[k.ID] == nil {
				member[k.ID] = map[int]bool{}
			}
			member[k.ID][p.PID] = true
		}
	}
	places := map[string]map[string]bool{} // key -> "HIERARCHY:PATH" seen
	for _, p := range procs {
		for id, roots := range p.Roots {
			if places[id] == nil {
				places[id] = map[string]bool{}
			}
			for _, r := range roots {
				places[id][r] = true
			}
		}
	}
	best := map[string]Init{}
	for _, p := range procs {
		for _, k := range p.Keys {
			if member[k.ID][p.PPID] {
				continue // its parent is in the container: not the init
			}
			b, ok := best[k.ID]
			if !ok || p.Start < b.Start || p.Start == b.Start && p.PID < b.PID {
				best[k.ID] = Init{Key: k, PID: p.PID, Start: p.Start}
			}
		}
	}
	inits := make([]Init, 0, len(best))
	for _, i := range best {
		hierarchies := map[string]int{}
		for r := range places[i.ID] {
			h, _, _ := strings.Cut(r, ":")
			hierarchies[h]++
		}
		for _, n := range hierarchies {
			if n > 1 {
				for r := range places[i.ID] {
					i.Places = append(i.Places, r)
				}
				sort.Strings(i.Places)
				break
			}
		}
		inits = append(inits, i)
	}
	sort.Slice(inits, func(a, b int) bool { return inits[a].ID < inits[b].ID })
	return inits
}

// Match finds the container a reference names among inits: a full ID or a
// prefix of at least MinPrefix hex digits, or an LXC or systemd-nspawn
// container's whole name. Several matches are an error that lists them.
func Match(inits []Init, ref string) (Init, error) {
	var found []Init
	for _, i := range inits {
		if i.ByName && i.ID == ref || !i.ByName && len(ref) >= MinPrefix && cgroupname.IsHex(ref) && strings.HasPrefix(i.ID, ref) {
			found = append(found, i)
		}
	}
	switch len(found) {
	case 1:
		if f := found[0]; f.Places != nil {
			return Init{}, &runtime.Error{Kind: runtime.Ambiguous, Runtime: "cgroup", Endpoint: "/proc", Ref: ref, Matches: f.Places,
				Detail: fmt.Sprintf("several cgroups name it (%s), and a container may have made one of them: give the PID of its init instead", strings.Join(f.Places, ", "))}
		}
		return found[0], nil
	case 0:
		return Init{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "cgroup", Endpoint: "/proc", Ref: ref,
			Detail: "no such container in the cgroups of the running processes either"}
	}
	ids := make([]string, len(found))
	for n, i := range found {
		ids[n] = i.ID
	}
	return Init{}, &runtime.Error{Kind: runtime.Ambiguous, Runtime: "cgroup", Endpoint: "/proc", Ref: ref, Matches: ids,
		Detail: fmt.Sprintf("the start of several containers' IDs: %s", strings.Join(ids, ", "))}
}

// Read reads every process of a /proc: its cgroups, parent and start time.
// A process that exits while it is read (ENOENT, ESRCH) is left out, as is
// one whose files cannot be read; a process in no container's cgroup is
// left out too.
func Read(proc string) ([]Proc, error) {
	d, err := os.Open(proc)
	if err != nil {
		return nil, fmt.Errorf("cannot scan the processes' cgroups: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("cannot scan the processes' cgroups: %w", err)
	}
	var procs []Proc
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		cgroups, err := os.ReadFile(filepath.Join(proc, name, "cgroup"))
		if err != nil {
			continue // gone, or not ours to read
		}
		keys, roots := cgroupname.FileKeys(string(cgroups))
		if len(keys) == 0 {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(proc, name, "stat"))
		if err != nil {
			continue
		}
		st, err := procfs.ParseStat(stat)
		ppid, start := st.PPID, st.Start
		if err != nil {
			continue
		}
		procs = append(procs, Proc{PID: pid, PPID: ppid, Start: start, Keys: keys, Roots: roots})
	}
	return procs, nil
}

// Scan reads /proc and returns every container found by its cgroup.
func Scan(proc string) ([]Init, error) {
	procs, err := Read(proc)
	if err != nil {
		return nil, err
	}
	return Inits(procs), nil
}

// Container is what the scan knows of a container, as the runtimes'
// adapters say it: runtime "cgroup", the name its short ID (LXC and
// systemd-nspawn: its name). A task of a containerd shim (Docker's too)
// gets its containerd namespace from the shim's bundle directory, so that
// its OCI spec can be read from the bundle; the bundle is checked again
// there.
func (i Init) Container(proc string) runtime.Container {
	c := runtime.Container{Runtime: "cgroup", ID: i.ID, Name: i.ID, Status: "running", PID: i.PID,
		Note: fmt.Sprintf("%s was found by its cgroup (%s): no runtime that answered knows it", shortID(i), i.Form)}
	if !i.ByName {
		c.Name = i.ID[:12]
	}
	c.Namespace = shimNamespace(proc, i.PID, i.ID)
	c.Task = c.Namespace
	return c
}

func shortID(i Init) string {
	if i.ByName {
		return i.ID
	}
	return i.ID[:12]
}

// shimNamespace is the containerd namespace of a task whose parent is a
// containerd shim running in .../NAMESPACE/ID, else "".
func shimNamespace(proc string, pid int, id string) string {
	stat, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return ""
	}
	st, err := procfs.ParseStat(stat)
	ppid := st.PPID
	if err != nil {
		return ""
	}
	exe, err := os.Readlink(filepath.Join(proc, strconv.Itoa(ppid), "exe"))
	if err != nil || !strings.HasPrefix(filepath.Base(exe), "containerd-shim") {
		return ""
	}
	cwd, err := os.Readlink(filepath.Join(proc, strconv.Itoa(ppid), "cwd"))
	if err != nil || filepath.Base(cwd) != id {
		return ""
	}
	return filepath.Base(filepath.Dir(cwd))
}
