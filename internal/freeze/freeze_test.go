package freeze

import (
	"os"
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

// The test binary is the watchdog when started as one.
func TestMain(m *testing.M) {
	Watchdog()
	os.Exit(m.Run())
}

// TestWatchdog: the watchdog, on a control file of the test's, writes the
// thawing value when our end of its pipe closes without a word (we died),
// and nothing when we say we thawed ourselves; it exits either way.
func TestWatchdog(t *testing.T) {
	for _, died := range []bool{true, false} {
		control, err := os.CreateTemp(t.TempDir(), "freezer.state")
		if err != nil {
			t.Fatal(err)
		}
		control.WriteString("FROZEN")
		f := &Freezer{file: control, Path: control.Name()}
		if err := f.startWatchdog(); err != nil {
			t.Fatal(err)
		}
		if died {
			f.keep.Close() // as the kernel closes it when we are killed
			f.watchdog.Wait()
		} else {
			f.keep.Write([]byte{keepByte})
			f.keep.Close()
			f.watchdog.Wait()
		}
		if !f.watchdog.ProcessState.Success() {
			t.Errorf("died=%v: the watchdog ended %v", died, f.watchdog.ProcessState)
		}
		data, _ := os.ReadFile(control.Name())
		if want := map[bool]string{true: "THAWED", false: "FROZEN"}[died]; string(data) != want {
			t.Errorf("died=%v: the control file holds %q, want %q", died, data, want)
		}
		control.Close()
	}
}
