// Package cgroupname reads what a process's cgroups say of the container
// it is in: the cgroup path forms the runtimes make (Docker, containerd,
// its CRI plugin, Podman, CRI-O, LXC, systemd-nspawn) and the container ID
// or name each names. The enter core checks with it that a pinned PID is
// still its container's; runtime/cgroupscan finds containers by it. One
// reading, so that what the scan finds, the check accepts.
package cgroupname

import (
	"strconv"
	"strings"
)

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
		case IsID(elem):
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
				if id, ok := strings.CutPrefix(scope, p); ok && IsID(id) {
					add(Key{ID: id, Form: p + "ID.scope"})
				}
			}
		case strings.HasPrefix(elem, "libpod-") && IsID(elem[len("libpod-"):]):
			// Podman with cgroupfs: /libpod_parent/libpod-ID.
			add(Key{ID: elem[len("libpod-"):], Form: "libpod-ID"})
		case strings.HasPrefix(elem, "crio-") && IsID(elem[len("crio-"):]):
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
	keys, _ := FileKeys(cgroups)
	for _, k := range keys {
		if k.ID == key {
			return true
		}
	}
	return false
}

// FileKeys reads every hierarchy's path of a /proc/PID/cgroup (cgroup v1
// and v2 lines alike: ID:CONTROLLERS:PATH), each key once, and the cgroups
// that name each key, as "HIERARCHY:PATH".
func FileKeys(cgroups string) ([]Key, map[string][]string) {
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

// IsID tells whether s is a container ID as Docker, containerd's CRI,
// CRI-O and Podman make them: 64 lowercase hex digits.
func IsID(s string) bool {
	if len(s) != 64 {
		return false
	}
	return IsHex(s)
}

func IsHex(s string) bool {
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
