package e2e

import (
	"os"
	"strings"
	"testing"
)

// statusOf keeps the lines of a /proc/PID/status that --confine decides.
func statusOf(status string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(status, "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters", "Uid", "Gid", "Groups":
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}

// TestConfine: by default, and with --confine, the program is confined as
// the container's own processes are: same capabilities, no_new_privileges,
// seccomp filter, user and groups as the container's init.
func TestConfine(t *testing.T) {
	d := newDockerCLI(t)
	for _, name := range []string{"web", "webuser"} {
		pid := dockerInspect(t, name, "{{.State.Pid}}")
		init, _ := readFile("/proc/" + pid + "/status")
		want := statusOf(init)
		for _, flags := range [][]string{nil, {"--confine"}} {
			r := d.run(t, "", append(append([]string{"nsenter"}, flags...), name, "cat", "/proc/self/status")...)
			got := statusOf(r.stdout)
			if r.code != 0 || len(got) != len(want) {
				t.Fatalf("%s %q: %v", name, flags, r)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s %q: %s is %q, the container's init has %q", name, flags, k, got[k], v)
				}
			}
		}
		if want["Seccomp"] != "2" {
			t.Errorf("%s: the container itself runs without a seccomp filter (%v): the test proves little", name, want)
		}
	}
	// The filter bites: Docker's default profile refuses unshare(2) to a
	// process without CAP_SYS_ADMIN; --privileged, root may.
	if r := d.run(t, "", "nsenter", "--privileged", "web", "unshare", "-U", "true"); r.code != 0 {
		t.Errorf("--privileged unshare: %v", r)
	}
	for _, flags := range [][]string{nil, {"--confine"}} {
		if r := d.run(t, "", append(append([]string{"nsenter"}, flags...), "web", "unshare", "-U", "true")...); r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
			t.Errorf("confined unshare (%q) must be refused: %v", flags, r)
		}
	}
	// Those were installed from the cache: Docker's default profile,
	// compiled once.
	if files, err := os.ReadDir(seccompCache); err != nil || len(files) == 0 {
		t.Errorf("no compiled filter in the cache %s: %v %v", seccompCache, files, err)
	}
}
