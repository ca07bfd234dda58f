package mountinfo

import (
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	table := `22 27 0:21 / /proc rw,relatime - proc proc rw
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
37 31 0:34 /docker/ab /sys/fs/cgroup/freezer rw,relatime shared:9 - cgroup cgroup rw,freezer
46 42 0:39 / /a\040b rw,relatime shared:2 - overlay overlay rw,lowerdir=/l/1\134:x:/l/2,upperdir=/u\054v,workdir=/w
garbage
`
	m := Parse(table)
	if len(m) != 4 {
		t.Fatalf("%d mounts: %+v", len(m), m)
	}
	if m[2].Root != "/docker/ab" || m[2].FSType != "cgroup" || !slices.Contains(m[2].Super, "freezer") {
		t.Errorf("cgroup line: %+v", m[2])
	}
	if m[3].Point != "/a b" {
		t.Errorf("point %q", m[3].Point)
	}
	if v, ok := m[3].Option("upperdir"); !ok || v != "/u,v" {
		t.Errorf("upperdir %q %v", v, ok)
	}
	if v, _ := m[3].Option("lowerdir"); v != `/l/1\:x:/l/2` {
		t.Errorf("lowerdir %q", v)
	}
	if _, ok := m[0].Option("lowerdir"); ok {
		t.Error("an option proc has not")
	}
}
