// Package cgroupscan finds a container without asking any runtime: by the
// cgroup its runtime put it in, read from /proc/*/cgroup. It is how a
// container is reached when no daemon answers, or when none knows it (a
// runtime cnsenter has no client for). Its init is the oldest process of
// that cgroup whose parent is outside it: the runtime's shim or monitor
// starts the init, and everything else in the container descends from the
// init, or (docker exec) is younger.
package cgroupscan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cnsenter/cnsenter/runtime"
)

// MinPrefix is the shortest ID prefix the scan takes: the short ID that
// docker ps and cnsenter --list show. A shorter hex string is too likely a
// name, or a typo, to enter whichever container happens to start with it.
const MinPrefix = 12

// Key is what one cgroup path names: a container's ID (64 hex digits, as
// Docker, containerd's CRI, CRI-O and Podman make them) or, for LXC and
// systemd-nspawn, which have no IDs, its name.
type Key struct {
	ID     string // the full ID, or the name when ByName
	ByName bool
	Form   string // how its cgroup names it, for notes: "docker-ID.scope", "/lxc/NAME", ...
}

// scopePrefixes are the systemd scopes the runtimes make for a container:
// docker-ID.scope (Docker), libpod-ID.scope (Podman), cri-containerd-ID.scope
// (containerd's CRI), crio-ID.scope (CRI-O). Podman's and CRI-O's conmon
// scopes (libpod-conmon-ID.scope, crio-conmon-ID.scope) hold the monitor,
// not the container: their rest is not an ID, so they are no match.
var scopePrefixes = []string{"docker-", "libpod-", "cri-containerd-", "crio-"}

// Keys returns what the containers' cgroups in one cgroup path name, the
// outermost first (a container within a container names both).
func Keys(path string) []Key {
	var keys []Key
	for _, k := range keysAt(path) {
		keys = append(keys, k.Key)
	}
	return keys
}

// rootedKey is a key and the cgroup that names it (the path up to its
// element).
type rootedKey struct {
	Key
	root string
}

func keysAt(path string) []rootedKey {
	var keys []rootedKey
	elems := strings.Split(path, "/")
	for i, elem := range elems {
		add := func(k Key) { keys = append(keys, rootedKey{k, strings.Join(elems[:i+1], "/")}) }
		switch {
		case isID(elem):
			// /docker/ID (cgroupfs), /NAMESPACE/ID (containerd),
			// /kubepods/QOS/podUID/ID (CRI, cgroupfs).
			add(Key{ID: elem, Form: "/ID"})
		case strings.HasSuffix(elem, ".scope"):
			scope := strings.TrimSuffix(elem, ".scope")
			if name, ok := strings.CutPrefix(scope, "machine-"); ok && name != "" {
				// systemd-nspawn (and machined's VMs): machine-NAME.scope,
				// the name escaped as systemd escapes unit names.
				add(Key{ID: unescape(name), ByName: true, Form: "machine-NAME.scope"})
				continue
			}
			for _, p := range scopePrefixes {
				if id, ok := strings.CutPrefix(scope, p); ok && isID(id) {
					add(Key{ID: id, Form: p + "ID.scope"})
				}
			}
		case strings.HasPrefix(elem, "libpod-") && isID(elem[len("libpod-"):]):
			// Podman with cgroupfs: /libpod_parent/libpod-ID.
			add(Key{ID: elem[len("libpod-"):], Form: "libpod-ID"})
		case strings.HasPrefix(elem, "crio-") && isID(elem[len("crio-"):]):
			// CRI-O with cgroupfs: /kubepods/.../crio-ID.
			add(Key{ID: elem[len("crio-"):], Form: "crio-ID"})
		case strings.HasPrefix(elem, "lxc.payload.") && len(elem) > len("lxc.payload."):
			// LXC 4 and later: /lxc.payload.NAME (lxc.monitor.NAME is
			// its monitor, outside the container).
			add(Key{ID: elem[len("lxc.payload."):], ByName: true, Form: "lxc.payload.NAME"})
		case i > 0 && elems[i-1] == "lxc" && elem != "" && !strings.HasPrefix(elem, "lxc.monitor"):
			// LXC before 4: /lxc/NAME.
			add(Key{ID: elem, ByName: true, Form: "/lxc/NAME"})
		}
	}
	return keys
}

// Names tells whether a /proc/PID/cgroup names key (an ID or a name) as a
// container's cgroup, in any of the forms Keys reads.
func Names(cgroups, key string) bool {
	keys, _ := fileKeys(cgroups)
	for _, k := range keys {
		if k.ID == key {
			return true
		}
	}
	return false
}

// fileKeys reads every hierarchy's path of a /proc/PID/cgroup (cgroup v1
// and v2 lines alike: ID:CONTROLLERS:PATH), each key once, and the cgroups
// that name each key, as "HIERARCHY:PATH".
func fileKeys(cgroups string) ([]Key, map[string][]string) {
	var keys []Key
	roots := map[string][]string{}
	for _, line := range strings.Split(cgroups, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, k := range keysAt(parts[2]) {
			if roots[k.ID] == nil {
				keys = append(keys, k.Key)
			}
			roots[k.ID] = append(roots[k.ID], parts[0]+":"+k.root)
		}
	}
	return keys, roots
}

func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	return isHex(s)
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// unescape undoes systemd's escaping of a unit name (\x2d for "-").
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Proc is what the scan reads of one process.
type Proc struct {
	PID, PPID int
	Start     uint64 // start time after boot, in clock ticks (stat field 22)
	Keys      []Key
	// Roots are, for each key, the cgroups that name it ("HIERARCHY:PATH").
	Roots map[string][]string
}

// Init is a container found by the scan: its key and its init.
type Init struct {
	Key
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
		if i.ByName && i.ID == ref || !i.ByName && len(ref) >= MinPrefix && isHex(ref) && strings.HasPrefix(i.ID, ref) {
			found = append(found, i)
		}
	}
	switch len(found) {
	case 1:
		if f := found[0]; f.Places != nil {
			return Init{}, fmt.Errorf("%s: several cgroups name it (%s), and a container may have made one of them: give the PID of its init instead", ref, strings.Join(f.Places, ", "))
		}
		return found[0], nil
	case 0:
		return Init{}, fmt.Errorf("%s: %w in the cgroups of the running processes either", ref, runtime.ErrNotFound)
	}
	ids := make([]string, len(found))
	for n, i := range found {
		ids[n] = i.ID
	}
	return Init{}, fmt.Errorf("%s is the start of several containers' IDs: %s; give more of the ID", ref, strings.Join(ids, ", "))
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
		keys, roots := fileKeys(string(cgroups))
		if len(keys) == 0 {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(proc, name, "stat"))
		if err != nil {
			continue
		}
		ppid, start, err := parseStat(string(stat))
		if err != nil {
			continue
		}
		procs = append(procs, Proc{PID: pid, PPID: ppid, Start: start, Keys: keys, Roots: roots})
	}
	return procs, nil
}

// parseStat reads the parent (field 4) and start time (field 22) of a
// /proc/PID/stat, after the command's parentheses, which may hold anything.
func parseStat(stat string) (ppid int, start uint64, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, errors.New("no command in stat")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 20 {
		return 0, 0, errors.New("stat too short")
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, err
	}
	if start, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return 0, 0, err
	}
	return ppid, start, nil
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
	ppid, _, err := parseStat(string(stat))
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
