package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/engines"
)

// rootlessUser is an unprivileged user of the test's own, with
// subordinate uid and gid ranges (useradd gives them here, from
// login.defs), a home of its own, and our binaries where it may run them.
type rootlessUser struct {
	t        *testing.T
	name     string
	uid, gid int
	home     string
	bin      string
}

// rootlessUsers numbers the users made, for their names.
var rootlessUsers int

// newRootlessUser makes the user. Everything goes at the end of the test,
// failed or not: the user's processes (Podman's rootless pause process,
// conmon, the containers), its run directory, the user with its home and
// subordinate ranges, the binaries' copy.
func newRootlessUser(t *testing.T) *rootlessUser {
	t.Helper()
	requireEngines(t)
	for _, tool := range []string{"podman", "newuidmap", "newgidmap", "useradd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (test/install-deps.sh installs podman and uidmap)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "cnsenter-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	rootlessUsers++
	u := &rootlessUser{t: t, name: fmt.Sprintf("cnsrl%d-%d", os.Getpid()%1000000, rootlessUsers), home: filepath.Join(dir, "home"), bin: filepath.Join(dir, "bin")}
	if out, err := exec.Command("useradd", "-m", "-d", u.home, "-s", "/bin/sh", u.name).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		u.podman("rm", "-af", "-t", "0")
		u.killAll()
		if out, err := exec.Command("userdel", "-r", "-f", u.name).CombinedOutput(); err != nil {
			t.Errorf("userdel: %v: %s", err, out)
		}
		os.RemoveAll(filepath.Join(os.TempDir(), "podman-run-"+strconv.Itoa(u.uid)))
		os.RemoveAll(filepath.Join(os.TempDir(), "containers-user-"+strconv.Itoa(u.uid)))
		os.RemoveAll(filepath.Join("/run/user", strconv.Itoa(u.uid)))
		unmountUnder(t, dir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing the user's files: %v", err)
		}
	})
	out, err := exec.Command("id", "-u", u.name).Output()
	if err == nil {
		u.uid, err = strconv.Atoi(strings.TrimSpace(string(out)))
	}
	if err == nil {
		out, err = exec.Command("id", "-g", u.name).Output()
		if err == nil {
			u.gid, err = strconv.Atoi(strings.TrimSpace(string(out)))
		}
	}
	if err != nil {
		t.Fatalf("id %s: %v", u.name, err)
	}
	subuid, _ := os.ReadFile("/etc/subuid")
	if !strings.Contains("\n"+string(subuid), "\n"+u.name+":") {
		t.Skipf("useradd gave %s no subordinate uids (/etc/login.defs SUB_UID_*): rootless Podman needs them", u.name)
	}
	if err := os.MkdirAll(u.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cnsenter", "cnsenter-go", "cnsenter-enter", "docker-nsenter", "docker-nsenter-go"} {
		data, err := os.ReadFile(filepath.Join(bin, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(u.bin, f), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// killAll ends the user's processes, each by its PID: the user is the
// test's own, and so is everything it runs.
func (u *rootlessUser) killAll() {
	for range 3 {
		entries, _ := os.ReadDir("/proc")
		left := 0
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			var st syscall.Stat_t
			if syscall.Stat(filepath.Join("/proc", e.Name()), &st) == nil && int(st.Uid) == u.uid {
				syscall.Kill(pid, syscall.SIGKILL)
				left++
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond) // let the killed be reaped
	}
}

// env is the user's login environment, without XDG_RUNTIME_DIR (no login
// session here: Podman then runs from /tmp/podman-run-UID).
func (u *rootlessUser) env() []string {
	return []string{"HOME=" + u.home, "USER=" + u.name, "LOGNAME=" + u.name, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C"}
}

// run runs a program as the user, in its environment plus env.
func (u *rootlessUser) run(env []string, path string, args ...string) result {
	u.t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(u.env(), env...)
	cmd.Dir = u.home
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{}}, Pdeathsig: syscall.SIGKILL}
	cmd.Run()
	return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
}

// podman runs the user's Podman: runc (crun refuses hybrid cgroups), no
// network.
func (u *rootlessUser) podman(args ...string) (string, error) {
	r := u.run(nil, "/usr/bin/podman", append([]string{"--runtime", "runc"}, args...)...)
	out := strings.TrimSpace(r.stdout + r.stderr)
	if r.code != 0 {
		return out, fmt.Errorf("podman %s: exit %d", args[0], r.code)
	}
	return out, nil
}

// cnsenter runs our binary as the user.
func (u *rootlessUser) cnsenter(env []string, args ...string) result {
	u.t.Helper()
	return u.run(env, filepath.Join(u.bin, "cnsenter"), args...)
}

// archive is busybox's root as a tar file the user may read.
func (u *rootlessUser) archive() string {
	u.t.Helper()
	rootfs := filepath.Join(filepath.Dir(u.home), "rootfs")
	archive := filepath.Join(filepath.Dir(u.home), "rootfs.tar")
	if _, err := os.Stat(archive); err != nil {
		if err := engines.BusyboxRoot(rootfs); err != nil {
			u.t.Fatal(err)
		}
		if out, err := exec.Command("tar", "-C", rootfs, "-cf", archive, ".").CombinedOutput(); err != nil {
			u.t.Fatalf("tar: %v: %s", err, out)
		}
		os.Chmod(archive, 0o644)
	}
	return archive
}

// image imports busybox into the user's Podman store.
func (u *rootlessUser) image() {
	u.t.Helper()
	if out, err := u.podman("import", "-q", u.archive(), podmanImage); err != nil {
		u.t.Skipf("rootless Podman cannot import an image here: %v: %s", err, out)
	}
}

// runContainer starts a sleeping container; a machine where rootless
// Podman cannot run one skips the test with Podman's reason.
func (u *rootlessUser) runContainer(name string) string {
	u.t.Helper()
	out, err := u.podman("run", "-d", "--name", name, "--hostname", name+"-host", "--network", "none",
		"-e", "ROOTLESS_MARK="+name, podmanImage, "sleep", "100000")
	if err != nil {
		u.t.Skipf("rootless Podman cannot run a container here: %v: %s", err, out)
	}
	pid, err := u.podman("inspect", "-f", "{{.State.Pid}}", name)
	if err != nil {
		u.t.Fatalf("%v: %s", err, pid)
	}
	waitForExec(u.t, pid, "sleep")
	return out[strings.LastIndexByte(out, '\n')+1:]
}

// waitForExec waits until the container's init runs its program: the
// engine says "started" when runc's init may not have exec'd it yet, and
// the environment read before is runc's.
func waitForExec(t *testing.T, pid, comm string) {
	t.Helper()
	for range 300 {
		if data, err := os.ReadFile("/proc/" + pid + "/comm"); err == nil && strings.TrimSpace(string(data)) == comm {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("process %s never ran %s", pid, comm)
}

// TestPodmanRootless: an unprivileged user enters its own rootless Podman
// container, found in its own store (Podman's rootless defaults: no
// XDG_RUNTIME_DIR here, so the run root is under /tmp), by podman://NAME,
// ID prefix and bare name, with the container's environment (read once
// the user namespace is entered), and --list shows it; root enters it
// too, through the user's conmon; a container in the store the user's
// storage.conf names is found.
func TestPodmanRootless(t *testing.T) {
	u := newRootlessUser(t)
	u.image()
	id := u.runContainer("rlweb")

	for _, target := range []string{"podman://rlweb", "podman://" + id[:12], "rlweb"} {
		r := u.cnsenter(nil, "-t", target, "-a", "hostname")
		if r.code != 0 || r.stdout != "rlweb-host\n" {
			t.Errorf("as %s: -t %s -a hostname: %v", u.name, target, r)
		}
	}
	// Root of the user namespace, which maps to the user; the container's
	// environment, which only the user namespace's root may read.
	r := u.cnsenter(nil, "-t", "podman://rlweb", "-a", "-e", "sh", "-c", `id -u; echo "$ROOTLESS_MARK"; cat /proc/self/uid_map`)
	if f := strings.Fields(r.stdout); r.code != 0 || len(f) < 5 || f[0] != "0" || f[1] != "rlweb" || f[2] != "0" || f[3] != strconv.Itoa(u.uid) {
		t.Errorf("as %s: -a -e: %v", u.name, r)
	}
	r = u.cnsenter(nil, "--list")
	if r.code != 0 || !strings.Contains(r.stdout, "podman") || !strings.Contains(r.stdout, "rlweb") || !strings.Contains(r.stdout, id[:12]) {
		t.Errorf("as %s: --list: %v", u.name, r)
	}
	oneLineError(t, u.cnsenter(nil, "-t", "podman://rlnothing", "-a", "true"), "podman://rlnothing: no such container in Podman's store")

	// Root may enter any user's container: it finds the user's store
	// through the container's conmon.
	r = cnsenter(t, nil, "-t", "podman://rlweb", "-a", "cat", "/proc/self/uid_map")
	if f := strings.Fields(r.stdout); r.code != 0 || len(f) < 3 || f[1] != strconv.Itoa(u.uid) {
		t.Errorf("as root: -t podman://rlweb: %v", r)
	}

	// The user's storage.conf moves its graph root: Podman and we follow.
	conf := filepath.Join(u.home, ".config", "containers", "storage.conf")
	alt := filepath.Join(u.home, "altstore")
	if r := u.run(nil, "/bin/sh", "-c", `mkdir -p "$(dirname "$1")" && printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\n' "$2" > "$1"`, "sh", conf, alt); r.code != 0 {
		t.Fatalf("writing %s: %v", conf, r)
	}
	u.image()
	u.runContainer("rlalt")
	r = u.cnsenter(nil, "-t", "podman://rlalt", "-a", "hostname")
	if r.code != 0 || r.stdout != "rlalt-host\n" {
		t.Errorf("as %s, with graphroot %s in storage.conf: %v", u.name, alt, r)
	}
	oneLineError(t, u.cnsenter(nil, "-t", "podman://rlweb", "-a", "true"), "podman://rlweb: no such container in Podman's store")
}

// TestPodmanAnotherUsers: an unprivileged user naming root's Podman
// container, or another user's rootless one, which it can neither read the
// store of nor enter, is told in one line whose the container is and what
// to do.
func TestPodmanAnotherUsers(t *testing.T) {
	p := newPodman(t)
	p.run("prootweb")
	u := newRootlessUser(t)
	other := newRootlessUser(t)
	other.image()
	other.runContainer("rltheirs")
	oneLineError(t, u.cnsenter(nil, "-t", "podman://rltheirs", "true"),
		"podman://rltheirs: container rltheirs is "+other.name+"'s (uid "+strconv.Itoa(other.uid)+"), not in your rootless store: run as root")
	oneLineError(t, u.cnsenter(nil, "-t", "podman://prootweb", "true"),
		"podman://prootweb: container prootweb is root's (uid 0), not in your rootless store: run as root")
	// A bare name asks every runtime: Podman's answer says whose it is.
	if r := u.cnsenter(nil, "-t", "prootweb", "true"); r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "prootweb: container prootweb is root's (uid 0), not in your rootless store: run as root\n") {
		t.Errorf("a bare name: want one line saying whose it is: %v", r)
	}
}

// TestPodmanStorageConf: root's store where containers-storage.conf (here
// the file CONTAINERS_STORAGE_CONF names) puts it, with no --podman-root.
func TestPodmanStorageConf(t *testing.T) {
	p := newPodman(t)
	p.run("pconf")
	conf := filepath.Join(filepath.Dir(p.root), "storage.conf")
	text := fmt.Sprintf("# as containers-storage.conf(5)\n[storage]\ndriver = \"overlay\"\nrunroot = %q\ngraphroot = '%s'\n\n[storage.options]\n", p.runRoot, p.root)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONTAINERS_STORAGE_CONF=" + conf, "CNSENTER_PODMAN_ROOT=", "CNSENTER_PODMAN_RUNROOT="}
	r := cnsenter(t, env, "-t", "podman://pconf", "-a", "hostname")
	if r.code != 0 || r.stdout != "pconf-host\n" {
		t.Errorf("with %s: %v", conf, r)
	}
	if err := os.WriteFile(conf, []byte("[storage]\ngraphroot = 42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	oneLineError(t, cnsenter(t, env, "-t", "podman://pconf", "-a", "true"), "storage.conf:2: graphroot: not a string")
}

// TestPodmanService: --podman-url, and CONTAINER_HOST as podman --remote
// reads it, resolve and list through a Podman service (podman system
// service on a socket of the test's) instead of the files, which are
// pointed elsewhere to prove it.
func TestPodmanService(t *testing.T) {
	p := newPodman(t)
	id := p.run("papi")
	sock := filepath.Join(filepath.Dir(p.root), "podman.sock")
	global := []string{"--root", p.root, "--runroot", p.runRoot, "--tmpdir", p.tmp, "--runtime", "runc", "--cgroup-manager", "cgroupfs"}
	svc := exec.Command("podman", append(global, "system", "service", "--time=0", "unix://"+sock)...)
	svc.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Process.Kill()
		svc.Wait()
	})
	// Ready when it answers: podman itself asks it.
	ready := false
	for range 300 {
		if exec.Command("podman", "--url", "unix://"+sock, "version").Run() == nil {
			ready = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !ready {
		t.Fatal("podman system service did not answer on its socket")
	}
	files := []string{"CNSENTER_PODMAN_ROOT=/nonexistent", "CNSENTER_PODMAN_RUNROOT=/nonexistent"}
	r := cnsenter(t, files, "--podman-url", "unix://"+sock, "-t", "podman://papi", "-a", "hostname")
	if r.code != 0 || r.stdout != "papi-host\n" {
		t.Errorf("--podman-url: %v", r)
	}
	r = cnsenter(t, append(files, "CONTAINER_HOST=unix://"+sock), "-t", "podman://"+id[:12], "-a", "--confine", "hostname")
	if r.code != 0 || r.stdout != "papi-host\n" {
		t.Errorf("CONTAINER_HOST, --confine (the spec the service names): %v", r)
	}
	r = cnsenter(t, files, "--podman-url", "unix://"+sock, "--list")
	if r.code != 0 || !strings.Contains(r.stdout, "papi") || !strings.Contains(r.stdout, id[:12]) {
		t.Errorf("--podman-url --list: %v", r)
	}
	oneLineError(t, cnsenter(t, files, "--podman-url", "unix://"+sock, "-t", "podman://pnothing", "-a", "true"), "podman://pnothing: no such container in Podman service unix://"+sock)
	oneLineError(t, cnsenter(t, files, "--podman-url", "tcp://127.0.0.1:1", "-t", "podman://papi", "-a", "true"), `Podman service "tcp://127.0.0.1:1" is not unix:///PATH`)
}

// TestPodmanRootlessStoreLies: a user's store is that user's word alone.
// The user adds to its own containers.json a container "evil" with the ID
// of root's container, and a pidfile naming that container's init (whose
// cgroup, libpod-ID, then matches), and a spec for it: root naming
// podman://evil must not be taken into root's container. The init of a container in another user's
// store must run in a user namespace that user owns.
func TestPodmanRootlessStoreLies(t *testing.T) {
	p := newPodman(t)
	rootID := p.run("prootvictim")
	rootPID, err := p.podman("inspect", "-f", "{{.State.Pid}}", "prootvictim")
	if err != nil {
		t.Fatalf("podman inspect: %v: %s", err, rootPID)
	}
	u := newRootlessUser(t)
	u.image()
	bait := u.runContainer("rlbait") // its conmon leads root to the store
	stores, _ := filepath.Glob(filepath.Join(u.home, ".local/share/containers/storage/*-containers/containers.json"))
	if len(stores) != 1 {
		t.Fatalf("the user's containers.json: %q", stores)
	}
	driverDir := filepath.Base(filepath.Dir(stores[0]))
	pidfile := filepath.Join(os.TempDir(), "podman-run-"+strconv.Itoa(u.uid), "containers", driverDir, rootID, "userdata", "pidfile")
	script := `set -e
sed -i 's/^\[/[{"id":"'"$2"'","names":["evil"],"image":"x","metadata":"{}"},/' "$1"
mkdir -p "$(dirname "$3")"; echo "$4" > "$3"
store=$(dirname "$1"); mkdir -p "$store/$2/userdata"; cp "$store/$5/userdata/config.json" "$store/$2/userdata/"`
	if r := u.run(nil, "/bin/sh", "-c", script, "sh", stores[0], rootID, pidfile, rootPID, bait); r.code != 0 {
		t.Fatalf("the user's edit of its store: %v", r)
	}
	r := cnsenter(t, nil, "-t", "podman://evil", "-a", "hostname")
	if r.code == 0 || strings.Contains(r.stdout, "prootvictim") {
		t.Errorf("root was taken into its own container by a user's store: %v", r)
	}
	oneLineError(t, r, "podman://evil: container evil is not running")
}

// TestDockerRootless: rootless Docker, Debian's dockerd run by the user
// through rootlesskit (host network: --bridge=none, no iptables; its own
// /run, as dockerd-rootless.sh makes it), on a socket of the test's. The
// user enters its container by docker://NAME and bare name: the init,
// which cgroup v1 gives no cgroup of its own, is known by its containerd
// shim and the user's namespace.
func TestDockerRootless(t *testing.T) {
	u := newRootlessUser(t)
	for _, tool := range []string{"rootlesskit", "dockerd", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (test/install-deps.sh installs rootlesskit and docker.io)", tool)
		}
	}
	dir := filepath.Dir(u.home)
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chown(run, u.uid, u.gid)
	sock := filepath.Join(run, "docker.sock")
	dockerd := fmt.Sprintf("rm -rf /run/docker /run/containerd /run/xtables.lock; exec dockerd --data-root %s --exec-root %s -H unix://%s --pidfile %s "+
		"--bridge=none --iptables=false --ip6tables=false --userland-proxy=false",
		filepath.Join(u.home, "docker"), filepath.Join(run, "exec"), sock, filepath.Join(run, "docker.pid"))
	cmd := exec.Command("rootlesskit", "--net=host", "--copy-up=/etc", "--copy-up=/run", "--state-dir="+filepath.Join(run, "rootlesskit"), "sh", "-c", dockerd)
	cmd.Env = append(u.env(), "XDG_RUNTIME_DIR="+run, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	cmd.Dir = u.home
	log, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{}}, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Registered after the user's: runs first, while the user still is.
	t.Cleanup(func() {
		u.run([]string{"DOCKER_HOST=unix://" + sock}, "/usr/bin/docker", "rm", "-f", "rkweb")
		cmd.Process.Kill()
		cmd.Wait()
	})
	docker := func(args ...string) (string, error) {
		r := u.run([]string{"DOCKER_HOST=unix://" + sock}, "/usr/bin/docker", args...)
		out := strings.TrimSpace(r.stdout + r.stderr)
		if r.code != 0 {
			return out, fmt.Errorf("docker %s: exit %d", args[0], r.code)
		}
		return out, nil
	}
	ready := false
	for range 300 {
		if _, err := docker("version"); err == nil {
			ready = true
			break
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !ready {
		data, _ := os.ReadFile(log.Name())
		t.Skipf("rootless dockerd does not start here: %s", lastLines(string(data), 3))
	}
	if out, err := docker("import", u.archive(), "cnsenter-rootless:test"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := docker("run", "-d", "--name", "rkweb", "--hostname", "rkweb-host", "--network", "none", "-e", "ROOTLESS_MARK=rkweb", "cnsenter-rootless:test", "sleep", "100000"); err != nil {
		t.Skipf("rootless Docker cannot run a container here: %v: %s", err, out)
	}
	pid, err := docker("inspect", "-f", "{{.State.Pid}}", "rkweb")
	if err != nil {
		t.Fatalf("%v: %s", err, pid)
	}
	waitForExec(t, pid, "sleep")
	env := []string{"DOCKER_HOST=unix://" + sock}
	for _, target := range []string{"docker://rkweb", "rkweb"} {
		r := u.cnsenter(env, "-t", target, "-e", "sh", "-c", `hostname; echo "$ROOTLESS_MARK"`)
		if r.code != 0 || r.stdout != "rkweb-host\nrkweb\n" {
			t.Errorf("as %s: -t %s: %v", u.name, target, r)
		}
	}
	// docker nsenter as docker exec: the container's user and environment;
	// no cgroup to join but the user's own, which it is in already.
	r := u.run(env, filepath.Join(u.bin, "docker-nsenter"), "nsenter", "rkweb", "sh", "-c", `hostname; id -u; echo "$ROOTLESS_MARK"`)
	if r.code != 0 || r.stdout != "rkweb-host\n0\nrkweb\n" {
		t.Errorf("as %s: docker nsenter rkweb: %v", u.name, r)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// TestPodmanRootlessStoppedLinks: a user's stopped container, whose store
// is the user's word, shown to root (--host-tools): a layer the user made
// a link to a directory of root's is refused, not shown as the
// container's root; a bind mount of the host's /etc in the user's spec is
// not shown at $CONTAINER_ROOT/data, and a note says so; --evidence
// copies neither into its bundle.
func TestPodmanRootlessStoppedLinks(t *testing.T) {
	u := newRootlessUser(t)
	// overlay, whose layers only are shown (rootless Podman 4.3 takes
	// vfs without fuse-overlayfs; Linux 5.13 and later mount overlay in
	// a user namespace).
	conf := filepath.Join(u.home, ".config", "containers", "storage.conf")
	if r := u.run(nil, "/bin/sh", "-c", `mkdir -p "$(dirname "$1")" && printf '[storage]\ndriver = "overlay"\n' > "$1"`, "sh", conf); r.code != 0 {
		t.Fatalf("the user's storage.conf: %v", r)
	}
	u.image()
	u.runContainer("rlbait") // its conmon leads root to the store
	// Run, so that Podman writes its spec, and exited.
	if out, err := u.podman("run", "--name", "rlstop", "--network", "none", "-v", "/etc:/data", podmanImage, "true"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	id, err := u.podman("inspect", "-f", "{{.Id}}", "rlstop")
	if err != nil {
		t.Fatalf("%v: %s", err, id)
	}
	storage := filepath.Join(u.home, ".local/share/containers/storage")
	if _, err := os.Stat(filepath.Join(storage, "overlay-containers")); err != nil {
		stores, _ := filepath.Glob(filepath.Join(storage, "*-containers"))
		t.Skipf("rootless Podman's driver here is not overlay (%q), whose layers only are shown", stores)
	}
	var records []struct{ ID, Layer string }
	readJSON(t, filepath.Join(storage, "overlay-containers", "containers.json"), &records)
	upper := ""
	for _, r := range records {
		if r.ID == id {
			upper = filepath.Join(storage, "overlay", r.Layer, "diff")
		}
	}
	if _, err := os.Stat(upper); upper == "" || err != nil {
		t.Fatalf("the container's layer in %+v: %v", records, err)
	}
	secret := t.TempDir() // root's, 0700
	os.WriteFile(filepath.Join(secret, "root-secret"), []byte("root's\n"), 0o600)
	if r := u.run(nil, "/bin/sh", "-c", `set -e; mv "$1" "$1.real"; ln -s "$2" "$1"`, "sh", upper, secret); r.code != 0 {
		t.Fatalf("the user's link: %v", r)
	}
	show := []string{"--host-tools", "-t", "podman://" + id, "/bin/sh", "-c", "ls $CONTAINER_ROOT; cat $CONTAINER_ROOT/data/passwd"}
	r := cnsenter(t, nil, show...)
	if r.code == 0 || strings.Contains(r.stdout, "root-secret") || !strings.Contains(r.stderr, "symbolic link") {
		t.Errorf("a user's layer linked to root's directory: %v", r)
	}
	// --evidence copies none of root's files into the bundle.
	leaked := func(what string) {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "bundle")
		r := cnsenter(t, nil, "--evidence", dir, "-t", "podman://"+id)
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err != nil || !info.Mode().IsRegular() {
				return nil
			}
			data, _ := os.ReadFile(p)
			if strings.Contains(string(data), "root-secret") || strings.Contains(string(data), u.name+":x:") {
				t.Errorf("--evidence of %s: %s holds the host's files (%v)", what, p, r)
			}
			return nil
		})
	}
	leaked("a user's layer linked to root's directory")
	if r := u.run(nil, "/bin/sh", "-c", `set -e; rm "$1"; mv "$1.real" "$1"`, "sh", upper); r.code != 0 {
		t.Fatalf("the user's layer put back: %v", r)
	}
	r = cnsenter(t, nil, show...)
	if strings.Contains(r.stdout, "root:x:0") || !strings.Contains(r.stdout, "bin\n") || !strings.Contains(r.stderr, "bind mounts (/data) are not shown") {
		t.Errorf("a user's bind mount of /etc: %v", r)
	}
	leaked("a user's bind mount of /etc")
}

// TestPodmanRootlessStoreFIFO: a user makes its containers.json a FIFO,
// which nobody ever writes: root's --list and a bare name still finish
// (the harness's deadline is the hang detector), the user's store left
// out as unreadable.
func TestPodmanRootlessStoreFIFO(t *testing.T) {
	u := newRootlessUser(t)
	u.image()
	u.runContainer("rlfifo") // its conmon leads root to the store
	stores, _ := filepath.Glob(filepath.Join(u.home, ".local/share/containers/storage/*-containers/containers.json"))
	if len(stores) != 1 {
		t.Fatalf("the user's containers.json: %q", stores)
	}
	if r := u.run(nil, "/bin/sh", "-c", `set -e; mv "$1" "$1.real"; mkfifo "$1"`, "sh", stores[0]); r.code != 0 {
		t.Fatalf("the user's FIFO: %v", r)
	}
	// Registered after the user's: runs first, while the user still is.
	t.Cleanup(func() { u.run(nil, "/bin/sh", "-c", `rm -f "$1"; mv "$1.real" "$1"`, "sh", stores[0]) })
	if r := cnsenter(t, nil, "--list"); r.code != 0 || strings.Contains(r.stdout, "rlfifo") {
		t.Errorf("--list with a user's containers.json a FIFO: %v", r)
	}
	if r := cnsenter(t, nil, "-t", "rlfifo", "true"); r.code != 1 || !strings.Contains(r.stderr, "rlfifo") {
		t.Errorf("a bare name with a user's containers.json a FIFO: %v", r)
	}
}
