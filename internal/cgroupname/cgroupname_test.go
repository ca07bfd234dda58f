package cgroupname

import (
	"reflect"
	"strings"
	"testing"
)

const (
	id1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	id2 = "0123456789abffff0123456789abcdef0123456789abcdef0123456789abcdef"
	id3 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

// Every form of container cgroup the runtimes make, and what it names.
func TestKeys(t *testing.T) {
	for path, want := range map[string][]Key{
		// Docker: cgroupfs driver, systemd driver.
		"/docker/" + id1:                         {{ID: id1, Form: "/ID"}},
		"/system.slice/docker-" + id1 + ".scope": {{ID: id1, Form: "docker-ID.scope"}},
		// containerd (ctr): /NAMESPACE/ID.
		"/default/" + id1: {{ID: id1, Form: "/ID"}},
		// Podman: systemd (root and rootless, with its nested container
		// cgroup), cgroupfs.
		"/machine.slice/libpod-" + id1 + ".scope":                                                     {{ID: id1, Form: "libpod-ID.scope"}},
		"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id1 + ".scope/container": {{ID: id1, Form: "libpod-ID.scope"}},
		"/libpod_parent/libpod-" + id1:                                                                {{ID: id1, Form: "libpod-ID"}},
		// Kubernetes through containerd's CRI: systemd, cgroupfs.
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_0000_1111_2222_333344445555.slice/cri-containerd-" + id1 + ".scope": {{ID: id1, Form: "cri-containerd-ID.scope"}},
		"/kubepods/burstable/pod1b2c3d4e-0000-1111-2222-333344445555/" + id1:                                                                         {{ID: id1, Form: "/ID"}},
		// CRI-O: systemd, cgroupfs.
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/crio-" + id1 + ".scope": {{ID: id1, Form: "crio-ID.scope"}},
		"/kubepods/besteffort/podabc/crio-" + id1:                                                           {{ID: id1, Form: "crio-ID"}},
		// LXC: before 4, from 4 on (names, not IDs).
		"/lxc/web":                    {{ID: "web", ByName: true, Form: "/lxc/NAME"}},
		"/lxc.payload.web":            {{ID: "web", ByName: true, Form: "lxc.payload.NAME"}},
		"/lxc.payload.web/init.scope": {{ID: "web", ByName: true, Form: "lxc.payload.NAME"}},
		// systemd-nspawn: the machine's name, unescaped.
		`/machine.slice/machine-my\x2dbox.scope/payload`: {{ID: "my-box", ByName: true, Form: "machine-NAME.scope"}},
		// A container in a container names both, the outer first.
		"/docker/" + id1 + "/docker/" + id3: {{ID: id1, Form: "/ID"}, {ID: id3, Form: "/ID"}},
		// Not containers: services, the monitors, short or upper-case hex,
		// a name within another.
		"/system.slice/docker.service":                   nil,
		"/machine.slice/libpod-conmon-" + id1 + ".scope": nil,
		"/kubepods.slice/crio-conmon-" + id1 + ".scope":  nil,
		"/lxc.monitor.web":                               nil,
		"/process_api/b825ddcc153ec4e3215d97815d08e9e4":  nil,
		"/docker/" + strings.ToUpper(id1):                nil,
		"/docker/" + id1[:63]:                            nil,
		"/":                                              nil,
		"/user.slice/user-1000.slice/session-2.scope":    nil,
	} {
		if got := Keys(path); !reflect.DeepEqual(got, want) {
			t.Errorf("Keys(%q) = %+v, want %+v", path, got, want)
		}
	}
}

// Names reads every hierarchy of a /proc/PID/cgroup, as enter's check of a
// pinned PID does.
func TestNames(t *testing.T) {
	hybrid := "12:pids:/docker/" + id1 + "\n1:name=systemd:/docker/" + id1 + "\n0::/\n"
	if !Names(hybrid, id1) || Names(hybrid, id2) || Names(hybrid, id1[:12]) {
		t.Errorf("Names on a hybrid file: wrong")
	}
	if !Names("0::/lxc.payload.web\n", "web") || Names("0::/lxc.payload.web\n", "we") {
		t.Errorf("Names of an LXC container: wrong")
	}
}
