package enter

import (
	"path"
	"slices"
	"strings"
)

// cgroupJoinFiles finds, in every hierarchy a process is in, the file
// stage 2 joins it through by writing "0": cgroup.procs on cgroup v2, tasks
// on v1. Stage 2 is single-threaded, so moving its one thread moves the
// process; and the kernel moves the writer's own thread without taking the
// global cgroup_threadgroup_rwsem for writing, whose first taker waits for
// an RCU grace period (measured here: 10-20 ms on every entry made
// after a pause). procCgroup is its /proc/PID/cgroup ("ID:CONTROLLERS:PATH" lines,
// "0::PATH" for cgroup v2), mountinfo is /proc/self/mountinfo. This works
// the same on v1, hybrid and v2 machines: each hierarchy is found by its
// mount, and the path is taken relative to the mount's root. Hierarchies not
// mounted here are left out.
func cgroupJoinFiles(procCgroup, mountinfo string) []string {
	mounts := parseMountinfo(mountinfo)
	var files []string
	for _, line := range strings.Split(procCgroup, "\n") {
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		controllers, cgPath, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		v2 := id == "0" && controllers == ""
		for _, m := range mounts {
			if !m.holds(v2, controllers) {
				continue
			}
			rel, ok := below(cgPath, m.root)
			if !ok {
				continue
			}
			file := "tasks"
			if v2 {
				file = "cgroup.procs"
			}
			files = append(files, path.Join(m.point, rel, file))
			break
		}
	}
	return files
}

type cgroupMount struct {
	root, point, fstype string
	options             []string // super options: the v1 controllers are here
}

func (m cgroupMount) holds(v2 bool, controllers string) bool {
	if v2 {
		return m.fstype == "cgroup2"
	}
	if m.fstype != "cgroup" || controllers == "" {
		return false
	}
	for _, c := range strings.Split(controllers, ",") {
		if !slices.Contains(m.options, c) {
			return false
		}
	}
	return true
}

// below returns p relative to root, if p is root or below it.
func below(p, root string) (string, bool) {
	if root == "/" {
		return p, true
	}
	if p == root {
		return "/", true
	}
	if strings.HasPrefix(p, root+"/") {
		return p[len(root):], true
	}
	return "", false
}

// parseMountinfo keeps the cgroup mounts of a mountinfo table:
// "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPEROPTIONS".
func parseMountinfo(table string) []cgroupMount {
	var mounts []cgroupMount
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		fstype := fields[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		mounts = append(mounts, cgroupMount{
			root:    unescapeMountinfo(fields[3]),
			point:   unescapeMountinfo(fields[4]),
			fstype:  fstype,
			options: strings.Split(fields[sep+3], ","),
		})
	}
	return mounts
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
