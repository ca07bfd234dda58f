package enter

import (
	"github.com/cnsenter/cnsenter/internal/mountinfo"
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
func cgroupJoinFiles(procCgroup, table string) []string {
	mounts := parseMountinfo(table)
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
			rel, ok := mountinfo.Below(cgPath, m.root)
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

// parseMountinfo keeps the cgroup mounts of a mountinfo table.
func parseMountinfo(table string) []cgroupMount {
	var mounts []cgroupMount
	for _, m := range mountinfo.Parse(table) {
		if m.FSType == "cgroup" || m.FSType == "cgroup2" {
			mounts = append(mounts, cgroupMount{root: m.Root, point: m.Point, fstype: m.FSType, options: m.Super})
		}
	}
	return mounts
}
