package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/test/engines"
)

// podmanStore is a Podman store of the test's own (--root, --runroot,
// --tmpdir in a temporary directory), so that nothing touches the host's.
type podmanStore struct {
	t                  *testing.T
	root, runRoot, tmp string
}

// podmanImage is the image newPodman imports: busybox, and a marker file.
const podmanImage = "localhost/cnsenter-busybox:test"

// newPodman makes a private store with podmanImage in it. Everything it
// makes goes at the end of the test, failed or not: the containers, the
// image, the store's mounts, its directory, and what Podman left outside
// it when it was not there before: the cgroups (libpod_parent) and
// /var/lib/containers (its image blob cache).
func newPodman(t *testing.T) *podmanStore {
	t.Helper()
	requireEngines(t)
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (test/install-deps.sh installs it)")
	}
	dir, err := os.MkdirTemp("", "cnsenter-podman-")
	if err != nil {
		t.Fatal(err)
	}
	p := &podmanStore{t: t, root: filepath.Join(dir, "root"), runRoot: filepath.Join(dir, "run"), tmp: filepath.Join(dir, "tmp")}
	cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/libpod_parent")
	// containers/image keeps a blob cache there whatever --root says.
	_, err = os.Stat("/var/lib/containers")
	ourCache := os.IsNotExist(err)
	t.Cleanup(func() {
		p.podman("rm", "-af", "-t", "0")
		p.podman("rmi", "-af")
		unmountUnder(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the Podman store: %v", err)
		}
		if ourCache {
			os.RemoveAll("/var/lib/containers")
		}
		if len(cgroups) == 0 { // ours: empty now, or still in use by someone else's
			left, _ := filepath.Glob("/sys/fs/cgroup/*/libpod_parent")
			for _, d := range left {
				os.Remove(filepath.Join(d, "conmon"))
				os.Remove(d)
			}
		}
	})
	rootfs := filepath.Join(dir, "rootfs")
	if err := engines.BusyboxRoot(rootfs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "data/marker"), []byte("podman-marker\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", rootfs, "-cf", archive, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	if out, err := p.podman("import", "-q", archive, podmanImage); err != nil {
		t.Fatalf("podman import: %v: %s", err, out)
	}
	return p
}

// podman runs podman on the store, as root must run it here: runc (crun
// refuses hybrid cgroups) and cgroupfs (no systemd to ask).
func (p *podmanStore) podman(args ...string) (string, error) {
	global := []string{"--root", p.root, "--runroot", p.runRoot, "--tmpdir", p.tmp, "--runtime", "runc", "--cgroup-manager", "cgroupfs"}
	out, err := exec.Command("podman", append(global, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// run starts a container that sleeps, and returns its ID; a machine that
// cannot run one skips the test with Podman's reason.
func (p *podmanStore) run(name string) string {
	p.t.Helper()
	// The ulimits: root lacks CAP_SYS_RESOURCE here, and Podman's default
	// nofile is above this machine's hard limit.
	id, err := p.podman("run", "-d", "--name", name, "--hostname", name+"-host", "--network", "none",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", podmanImage, "sleep", "100000")
	if err != nil {
		p.t.Skipf("podman cannot run a container on this machine: %v: %s", err, id)
	}
	return id[strings.LastIndexByte(id, '\n')+1:]
}

// env points cnsenter at the store.
func (p *podmanStore) env() []string {
	return []string{"CNSENTER_PODMAN_ROOT=" + p.root, "CNSENTER_PODMAN_RUNROOT=" + p.runRoot}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(t *testing.T, dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	var mounts []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	slices.Reverse(mounts)
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", m, err)
		}
	}
}

// TestPodmanReferences: a Podman container by podman://NAME, ID prefix and
// bare name, found in Podman's state on disk with no podman process
// running; --list and completion show it; stopped, never started and unknown containers
// are one line each.
func TestPodmanReferences(t *testing.T) {
	p := newPodman(t)
	id := p.run("pweb")
	gone := p.run("pgone")
	if out, err := p.podman("stop", "-t", "0", gone); err != nil {
		t.Fatalf("podman stop: %v: %s", err, out)
	}
	if out, err := p.podman("create", "--name", "pcold", "--network", "none", podmanImage, "sleep", "1"); err != nil {
		t.Fatalf("podman create: %v: %s", err, out)
	}
	pid, err := p.podman("inspect", "-f", "{{.State.Pid}}", "pweb")
	if err != nil {
		t.Fatalf("podman inspect: %v: %s", err, pid)
	}

	for _, target := range []string{"podman://pweb", "podman://" + id[:12], "podman://" + id, "pweb"} {
		r := cnsenter(t, p.env(), "-t", target, "-a", "hostname")
		if r.code != 0 || r.stdout != "pweb-host\n" {
			t.Errorf("-t %s -a hostname: %v", target, r)
		}
	}
	// The options name the store as well as the environment.
	r := cnsenter(t, nil, "--podman-root", p.root, "--podman-runroot", p.runRoot, "-t", "podman://pweb", "-u", "hostname")
	if r.code != 0 || r.stdout != "pweb-host\n" {
		t.Errorf("--podman-root, --podman-runroot: %v", r)
	}

	r = cnsenter(t, p.env(), "--list")
	var row []string
	for _, l := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "podman" {
			if slices.Contains(f, "pgone") || slices.Contains(f, "pcold") {
				t.Errorf("--list shows a container that does not run: %q", l)
			}
			if slices.Contains(f, "pweb") {
				row = f
			}
		}
	}
	// RUNTIME NAMESPACE (none: "-") NAME ID PID IMAGE STATUS
	if want := []string{"podman", "-", "pweb", id[:12], pid, podmanImage, "running"}; r.code != 0 || !slices.Equal(row, want) {
		t.Errorf("--list: want a row %q: %v", want, r)
	}

	// Completion offers it by its reference.
	t.Setenv("CNSENTER_PODMAN_ROOT", p.root)
	t.Setenv("CNSENTER_PODMAN_RUNROOT", p.runRoot)
	if got := complete(t, "cnsenter", "-t", "podman://"); !slices.Equal(got, []string{"podman://pweb"}) {
		t.Errorf("completion of podman://: %q", got)
	}

	oneLineError(t, cnsenter(t, p.env(), "-t", "podman://pgone", "-a", "true"), "podman://pgone: container pgone is not running: start it first")
	oneLineError(t, cnsenter(t, p.env(), "-t", "podman://pcold", "-a", "true"), "podman://pcold: container pcold is not running: start it first")
	oneLineError(t, cnsenter(t, p.env(), "-t", "podman://pnothing", "-a", "true"), "podman://pnothing: no such container in Podman's store")
	oneLineError(t, cnsenter(t, p.env(), "-t", "pnothing", "-a", "true"), "pnothing: no running container found (asked docker, cri, containerd, podman, cgroup)")
}

// TestPodmanHostTools: --host-tools into a Podman container: the host's
// tools, the container's hostname, its files at $CONTAINER_ROOT.
func TestPodmanHostTools(t *testing.T) {
	p := newPodman(t)
	p.run("ptools")
	r := cnsenter(t, p.env(), "-t", "podman://ptools", "--host-tools", "/bin/sh", "-c", `hostname; cat "$CONTAINER_ROOT/data/marker"; test -x /usr/bin/podman && echo host-tools`)
	if r.code != 0 || r.stdout != "ptools-host\npodman-marker\nhost-tools\n" {
		t.Errorf("--host-tools: %v", r)
	}
}
