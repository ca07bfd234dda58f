package freeze

import (
	"strings"
	"testing"
)

const hybridMounts = `32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

func TestFind(t *testing.T) {
	for _, c := range []struct {
		name, proc, own, mounts string
		want                    cgroup
		err                     string
	}{
		{"hybrid: the v1 freezer", "6:freezer:/docker/abc\n1:cpu:/docker/abc\n0::/\n", "6:freezer:/\n0::/\n", hybridMounts,
			cgroup{mount: "/sys/fs/cgroup/freezer", rel: "/docker/abc"}, ""},
		{"v2 only", "0::/system.slice/docker-abc.scope\n", "0::/user.slice\n", "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			cgroup{mount: "/sys/fs/cgroup", rel: "/system.slice/docker-abc.scope", v2: true}, ""},
		{"hybrid, no freezer cgroup of its own: v2", "6:freezer:/\n0::/kubepods/x\n", "6:freezer:/\n0::/\n", hybridMounts,
			cgroup{mount: "/sys/fs/cgroup/unified", rel: "/kubepods/x", v2: true}, ""},
		{"root cgroup", "6:freezer:/\n0::/\n", "6:freezer:/\n0::/\n", hybridMounts, cgroup{}, "root cgroup"},
		{"our own", "6:freezer:/a\n0::/\n", "6:freezer:/a/b\n0::/\n", hybridMounts, cgroup{}, "holds us too"},
		{"a cgroup mount's root below", "6:freezer:/docker/abc\n", "6:freezer:/\n", "37 31 0:34 /docker /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n",
			cgroup{mount: "/sys/fs/cgroup/freezer", rel: "/abc"}, ""},
		{"nothing mounted", "6:freezer:/docker/abc\n", "6:freezer:/\n", "", cgroup{}, "no freezer cgroup"},
	} {
		got, err := find(c.proc, c.own, c.mounts)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %+v, %v; want an error saying %q", c.name, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
}

func TestNilFreezer(t *testing.T) {
	var f *Freezer
	if f.State() != "" || f.Thaw() != nil {
		t.Error("a nil Freezer is no freeze")
	}
}

func TestContainerCgroups(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	in := "6:freezer:/docker/" + id + "/escaped\n0::/system.slice/docker-" + id + ".scope/sub\n1:cpu:/other/place\n"
	want := "6:freezer:/docker/" + id + "\n0::/system.slice/docker-" + id + ".scope\n1:cpu:/other/place\n"
	if got := containerCgroups(in, id); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := containerCgroups(in, ""); got != in {
		t.Errorf("no ID: got %q", got)
	}
}
