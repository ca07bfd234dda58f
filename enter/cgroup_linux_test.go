package enter

import (
	"slices"
	"testing"
)

// A hybrid machine: v1 controllers, a named v1 hierarchy and cgroup2 at
// /sys/fs/cgroup/unified, as on the machines this project is built on.
const hybridMountinfo = `24 30 0:22 / /sys rw,nosuid - sysfs sysfs rw
40 24 0:35 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
41 40 0:36 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
42 40 0:37 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup rw,memory
43 40 0:38 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
44 40 0:39 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
45 40 0:40 / /sys/fs/cgroup/pid\040s rw - cgroup cgroup rw,pids
`

func TestCgroupProcsFilesHybrid(t *testing.T) {
	own := "12:pids:/a\n4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/system.slice/docker-abc.scope\n"
	got := cgroupJoinFiles(own, hybridMountinfo)
	want := []string{
		"/sys/fs/cgroup/pid s/a/tasks",
		"/sys/fs/cgroup/memory/docker/abc/tasks",
		"/sys/fs/cgroup/cpu,cpuacct/docker/abc/tasks",
		"/sys/fs/cgroup/systemd/docker/abc/tasks",
		"/sys/fs/cgroup/unified/system.slice/docker-abc.scope/cgroup.procs",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestCgroupProcsFilesV2AndMountRoots(t *testing.T) {
	// cgroup2 alone, mounted with a root below the hierarchy's (as inside a
	// container): paths outside that root cannot be reached and are left out.
	mountinfo := "30 20 0:26 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
	if got := cgroupJoinFiles("0::/kubepods/pod1/c\n", mountinfo); !slices.Equal(got, []string{"/sys/fs/cgroup/pod1/c/cgroup.procs"}) {
		t.Errorf("below the mount root: got %q", got)
	}
	if got := cgroupJoinFiles("0::/kubepods\n", mountinfo); !slices.Equal(got, []string{"/sys/fs/cgroup/cgroup.procs"}) {
		t.Errorf("at the mount root: got %q", got)
	}
	if got := cgroupJoinFiles("0::/other\n", mountinfo); len(got) != 0 {
		t.Errorf("outside the mount root: got %q", got)
	}
	// A v1 hierarchy that is not mounted is left out, not guessed.
	if got := cgroupJoinFiles("3:blkio:/x\n", mountinfo); len(got) != 0 {
		t.Errorf("unmounted hierarchy: got %q", got)
	}
}

func TestKernelVersion(t *testing.T) {
	for release, want := range map[string][2]int{
		"6.18.44-fc-v669": {6, 18}, "5.8.0": {5, 8}, "5.7-rc1": {5, 7}, "garbage": {0, 0},
	} {
		major, minor := kernelVersion(release)
		if [2]int{major, minor} != want {
			t.Errorf("kernelVersion(%q) = %d.%d, want %d.%d", release, major, minor, want[0], want[1])
		}
	}
}
