package enter

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestProgramFromHost: the program's files are ours unless it gets the
// target's: its mount namespace entered, or --root the target's root,
// where those are not ours.
func TestProgramFromHost(t *testing.T) {
	self, err := pin(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer self.close()
	mount := map[Kind]bool{Mount: true, PID: true}
	noMount := map[Kind]bool{Net: true, PID: true}
	for _, c := range []struct {
		name string
		req  Request
		want map[Kind]bool
		host bool
	}{
		{"mount entered, but ours", Request{}, mount, true},
		{"mount not entered", Request{}, noMount, true},
		{"no namespace", Request{}, map[Kind]bool{}, true},
		{"--root the target's, ours", Request{Root: Dir{Set: true}}, noMount, true},
		{"mount entered, --root a host directory", Request{Root: Dir{Set: true, Path: "/srv/root"}}, mount, true},
		// Host-tools mode takes the mount namespace out of want.
		{"host tools", Request{HostTools: true}, noMount, true},
	} {
		if got := programFromHost(c.req, self, c.want, nil); got != c.host {
			t.Errorf("%s: programFromHost = %v, want %v", c.name, got, c.host)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a target with a mount namespace of its own")
	}
	other := exec.Command("unshare", "--mount", "sleep", "1000")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	var theirs *target
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", other.Process.Pid)); l != "" {
			if ours, _ := os.Readlink("/proc/self/ns/mnt"); l != ours {
				break
			}
		}
	}
	if theirs, err = pin(other.Process.Pid); err != nil {
		t.Fatal(err)
	}
	defer theirs.close()
	if programFromHost(Request{}, theirs, mount, nil) {
		t.Errorf("the target's own mount namespace entered: the program's files are the target's")
	}
	if !programFromHost(Request{}, theirs, noMount, nil) {
		t.Errorf("the mount namespace not entered: the program's files are ours")
	}
}

func TestCapabilityField(t *testing.T) {
	status := "Name:\tsleep\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\n" +
		"CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n"
	for _, c := range []struct {
		set  string
		want uint64
	}{
		{"CapInh", 0}, {"CapPrm", 0xa80425fb}, {"CapBnd", 0x1ffffffffff}, {"CapAmb", 0},
	} {
		if got, err := capabilityField(status, c.set); err != nil || got != c.want {
			t.Errorf("%s: got %#x, %v; want %#x", c.set, got, err, c.want)
		}
	}
	if got, _ := capabilityField(status, "CapPrm"); got&capSysPtrace != 0 {
		t.Errorf("Docker's default capabilities hold CAP_SYS_PTRACE: %#x", got)
	}
	for _, c := range []struct{ status, set string }{
		{status, "Cap"},                            // a prefix of a name is not the name
		{status, "CapNone"},                        // no such set
		{"", "CapBnd"},                             // an empty file
		{"CapBnd:\tzz\n", "CapBnd"},                // not hexadecimal
		{"CapBnd:\t1ffffffffffffffff\n", "CapBnd"}, // more than 64 bits
		{"CapBnd:\n", "CapBnd"},                    // no value
	} {
		if got, err := capabilityField(c.status, c.set); err == nil {
			t.Errorf("%q in %q: got %#x and no error", c.set, c.status, got)
		}
	}
}

func TestCgroupsName(t *testing.T) {
	const id = "0123456789abcdef"
	for cgroups, want := range map[string]bool{
		"9:pids:/docker/" + id + "\n0::/docker/" + id + "\n":             true,
		"0::/system.slice/docker-" + id + ".scope\n":                     true,
		"0::/k8s.io/" + id + "\n":                                        true,
		"0::/kubepods/besteffort/pod1/cri-containerd-" + id + ".scope\n": true,
		"0::/libpod_parent/libpod-" + id + "\n":                          true,
		"0::/libpod_parent/libpod-" + id + "x\n":                         false,
		"0::/libpod_parent/libpod-conmon-" + id + "\n":                   false,
		"0::/system.slice/" + id + "x.service\n":                         false,
		"0::/system.slice/webserver.service\n":                           false,
		"0::/docker/" + id[:8] + "\n":                                    false,
		"":                                                               false,
	} {
		if got := cgroupsName(cgroups, id); got != want {
			t.Errorf("cgroupsName(%q) = %v, want %v", cgroups, got, want)
		}
	}
	if cgroupsName("0::/system.slice/webserver.service\n", "web") {
		t.Errorf("a containerd ID within a service's name was taken for it")
	}
	// The forms the cgroup scan finds containers by pass too.
	long := strings.Repeat(id, 4)
	for cgroups, key := range map[string]string{
		"0::/libpod_parent/libpod-" + long + "\n":          long,
		"0::/kubepods/besteffort/pod1/crio-" + long + "\n": long,
		"0::/lxc.payload.web\n":                            "web",
		`0::/machine.slice/machine-my\x2dbox.scope` + "\n": "my-box",
	} {
		if !cgroupsName(cgroups, key) {
			t.Errorf("cgroupsName(%q, %q) = false", cgroups, key)
		}
	}
	if cgroupsName("0::/lxc.monitor.web\n", "web") {
		t.Errorf("LXC's monitor taken for the container")
	}
}
