// Package engines starts a private containerd and dockerd for the
// end-to-end tests, builds test images from busybox-static (no registry is
// reachable), and removes everything again: containers, tasks, daemons,
// mounts and the temporary directory.
//
// Two generations of engines can be started (CNSENTER_ENGINES): Debian 12's
// packages (dockerd 20.10, containerd 1.6, runc 1.1), and today's, built
// from the projects' own Go modules by build-current.sh (dockerd from
// moby/moby/v2, containerd 2, runc 1.4). The docker CLI is the system's for
// both.
//
// Both daemons listen on sockets under a temporary directory and never
// touch the host's: dockerd runs with --bridge=none --iptables=false
// --ip6tables=false, so containers have loopback only and nothing reaches
// any other address.
package engines

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Namespace is the containerd namespace of the tests' own tasks.
const Namespace = "cnsenter-test"

// The test images.
const (
	BusyboxImage = "cnsenter-test/busybox" // busybox and its applets, /etc/passwd with a few users
	NoShellImage = "cnsenter-test/noshell" // one static binary, /busybox, and nothing else
)

// The generations of engines, the values of CNSENTER_ENGINES.
const (
	Debian  = "debian"  // Debian 12's packages, found in PATH (the default)
	Current = "current" // today's, from build-current.sh's directory
)

// Generation is the generation Start starts: CNSENTER_ENGINES, else Debian.
func Generation() (string, error) {
	switch g := os.Getenv("CNSENTER_ENGINES"); g {
	case "", Debian:
		return Debian, nil
	case Current:
		return Current, nil
	default:
		return "", fmt.Errorf("CNSENTER_ENGINES=%q: want %s or %s", g, Debian, Current)
	}
}

// currentDir is the directory of today's engines: CNSENTER_ENGINES_DIR
// (make engines passes it), else what build-current.sh prints, which
// builds them first if they are not in its cache yet (about 20 minutes,
// once).
func currentDir() (string, error) {
	if dir := os.Getenv("CNSENTER_ENGINES_DIR"); dir != "" {
		return dir, nil
	}
	return cachedBuild("build-current.sh", "CNSENTER_ENGINES_DIR is not set and build-current.sh is not found: run make engines, then set it to the directory it prints")
}

// cachedBuild is the directory the script next to this file prints: it
// builds what is not in its cache yet. missing says what to do without it.
func cachedBuild(script, missing string) (string, error) {
	_, self, _, ok := runtime.Caller(0)
	script = filepath.Join(filepath.Dir(self), script)
	if _, err := os.Stat(script); !ok || err != nil {
		return "", errors.New(missing)
	}
	cmd := exec.Command("bash", script)
	cmd.Stderr = os.Stderr // its note that it builds, and how that goes
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Engines are the running daemons.
type Engines struct {
	Generation        string // Debian or Current
	BinDir            string // of the daemons, runc, the shim and ctr ("": found in PATH)
	Dir               string // everything lives below it
	DockerHost        string // unix://DIR/docker.sock
	ContainerdAddress string // DIR/containerd.sock
	Rootfs            string // the busybox root the images and tasks are made of

	containerd, dockerd *exec.Cmd
	cri                 bool     // containerd's CRI plugin is on (StartCRI)
	crictl              string   // its path, when cri
	newPaths            []string // host paths the daemons will create, that Stop removes
	newCgroups          []string // cgroups likewise, in every hierarchy
}

// hostPaths are made by dockerd (its identity key among them), containerd
// and its shims at fixed places, whatever their configured roots. Those we
// cause are removed again; a directory only if empty.
var hostPaths = []string{
	"/etc/docker/key.json", "/etc/docker", "/run/docker/plugins", "/run/docker",
	"/run/containerd/runc/moby", "/run/containerd/runc",
	"/run/containerd/fifo", "/run/containerd/s", "/run/containerd",
}

// Start starts containerd, then dockerd on it, and imports the test images.
// On failure everything started is stopped again.
func Start() (e *Engines, err error) { return StartWith(Options{}) }

// Options change what Start starts.
type Options struct {
	// Overlay2: today's dockerd keeps its images and containers' files
	// with its overlay2 graph driver, as dockerd 20.10 does, instead of
	// in containerd's snapshots (its default for a new data root; the
	// containerd-snapshotter feature turned off).
	Overlay2 bool
}

// StartWith is Start with options.
func StartWith(o Options) (e *Engines, err error) { return start(false, o) }

func start(cri bool, o Options) (e *Engines, err error) {
	generation, err := Generation()
	if err != nil {
		return nil, err
	}
	var binDir string
	if generation == Current {
		if binDir, err = currentDir(); err != nil {
			return nil, err
		}
		for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "dockerd", "runc", "ctr"} {
			if _, err := os.Stat(filepath.Join(binDir, bin)); err != nil {
				return nil, fmt.Errorf("today's engines: %w (make engines builds them)", err)
			}
		}
	}
	for _, bin := range []string{"containerd", "dockerd", "runc", "ctr", "docker"} {
		if binDir != "" && bin != "docker" {
			continue
		}
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s is missing: run make deps (test/install-deps.sh)", bin)
		}
	}
	var newPaths, newCgroups []string
	for _, p := range hostPaths {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			newPaths = append(newPaths, p)
		}
	}
	// dockerd's parent of its containers' cgroups (cgroupfs driver).
	if mounts := cgroupMounts(); len(mounts) > 0 && !slices.ContainsFunc(mounts, func(m string) bool {
		_, err := os.Stat(filepath.Join(m, "docker"))
		return err == nil
	}) {
		newCgroups = append(newCgroups, "docker")
	}
	dir, err := os.MkdirTemp("", "cnsenter-engines-")
	if err != nil {
		return nil, err
	}
	e = &Engines{Generation: generation, BinDir: binDir, Dir: dir, newPaths: newPaths, newCgroups: newCgroups, DockerHost: "unix://" + filepath.Join(dir, "docker.sock"), ContainerdAddress: filepath.Join(dir, "containerd.sock"), cri: cri}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	// No CRI unless asked for (StartCRI): most tests make no pods. containerd 2 reads a version 3
	// configuration (2.4's own is 4: it logs that it migrated this one),
	// where CRI is several plugins, NRI (pods' plugins) among them; and it
	// would import /etc/containerd/conf.d/*.toml, the host's, by default.
	version, disabled := 2, `"io.containerd.grpc.v1.cri"`
	if generation == Current {
		version, disabled = 3, `"io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images",
  "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.nri.v1.nri"`
	}
	if cri {
		disabled = criDisabled(generation)
	}
	config := fmt.Sprintf(`version = %d
root = %q
state = %q
imports = []
disabled_plugins = [%s]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, version, filepath.Join(dir, "containerd/root"), filepath.Join(dir, "containerd/state"), disabled, e.ContainerdAddress, e.ContainerdAddress+".ttrpc")
	if cri {
		config += e.criConfig()
	}
	if err := os.WriteFile(filepath.Join(dir, "containerd.toml"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	daemonJSON := "{}\n"
	if o.Overlay2 {
		daemonJSON = `{"features": {"containerd-snapshotter": false}}` + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte(daemonJSON), 0o644); err != nil {
		return nil, err
	}
	if e.containerd, err = e.daemon("containerd", "--config", filepath.Join(dir, "containerd.toml")); err != nil {
		return nil, err
	}
	if err := e.waitFor("containerd", func() error { _, err := e.Ctr("version"); return err }); err != nil {
		return nil, err
	}
	dockerdArgs := []string{"--data-root", filepath.Join(dir, "docker"), "--exec-root", filepath.Join(dir, "docker-exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"), "-H", e.DockerHost, "--containerd", e.ContainerdAddress,
		"--config-file", filepath.Join(dir, "daemon.json"), "--bridge=none", "--iptables=false", "--ip6tables=false"}
	if generation == Current {
		// No docker-proxy is built; with no bridge no port is published anyway.
		dockerdArgs = append(dockerdArgs, "--userland-proxy=false")
	}
	if e.dockerd, err = e.daemon("dockerd", dockerdArgs...); err != nil {
		return nil, err
	}
	if err := e.waitFor("dockerd", func() error { _, err := e.Docker("version"); return err }); err != nil {
		return nil, err
	}
	if err := e.buildImages(); err != nil {
		return nil, err
	}
	if cri {
		if err := e.startCRI(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Path is the program of the engines' generation: in BinDir, else in PATH.
func (e *Engines) Path(name string) string {
	if e.BinDir != "" {
		return filepath.Join(e.BinDir, name)
	}
	return name
}

// daemon starts a daemon that dies with us, logging to DIR/NAME.log. With
// BinDir first in its PATH: containerd finds the shim there, and the shim
// runc.
func (e *Engines) daemon(name string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(e.Dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(e.Path(name), args...)
	if e.BinDir != "" {
		cmd.Env = append(os.Environ(), "PATH="+e.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	log.Close()
	return cmd, nil
}

func (e *Engines) waitFor(name string, ready func() error) error {
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = ready(); err == nil {
			return nil
		}
	}
	log, _ := os.ReadFile(filepath.Join(e.Dir, name+".log"))
	return fmt.Errorf("%s did not start: %v\n%s", name, err, tail(string(log), 20))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Env is the environment that points a process at these engines.
func (e *Engines) Env() []string {
	return []string{"DOCKER_HOST=" + e.DockerHost, "CONTAINERD_ADDRESS=" + e.ContainerdAddress}
}

// Docker runs the docker CLI against the test dockerd.
func (e *Engines) Docker(args ...string) (string, error) {
	return run(exec.Command("docker", append([]string{"-H", e.DockerHost}, args...)...))
}

// Ctr runs ctr, of the engines' generation, against the test containerd.
func (e *Engines) Ctr(args ...string) (string, error) {
	return run(exec.Command(e.Path("ctr"), append([]string{"--address", e.ContainerdAddress}, args...)...))
}

// Versions says which engines these are, on one line: the generation,
// dockerd's version and API version, containerd's and runc's.
func (e *Engines) Versions() string {
	version := func(name string, field int) string {
		// The version of the module a program was built from (go
		// install's builds say little else: dockerd's --version is
		// "library-import"), else what it says.
		if path, err := exec.LookPath(e.Path(name)); err == nil {
			if info, err := buildinfo.ReadFile(path); err == nil && strings.HasPrefix(info.Main.Version, "v") {
				return info.Main.Version
			}
		}
		out, err := exec.Command(e.Path(name), "--version").Output()
		if err != nil {
			return "?"
		}
		line, _, _ := strings.Cut(string(out), "\n")
		if f := strings.Fields(line); len(f) > field {
			return strings.TrimSuffix(f[field], ",")
		}
		return strings.TrimSpace(line)
	}
	api, err := e.Docker("version", "-f", "{{.Server.APIVersion}}")
	if err != nil {
		api = "?"
	}
	return fmt.Sprintf("%s engines: dockerd %s (API %s), containerd %s, runc %s", e.Generation,
		version("dockerd", 2), api, version("containerd", 2), version("runc", 2))
}

func run(cmd *exec.Cmd) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Stdin = cmd.Stdin
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// buildImages makes the busybox root and imports both test images.
func (e *Engines) buildImages() error {
	e.Rootfs = filepath.Join(e.Dir, "rootfs")
	if err := BusyboxRoot(e.Rootfs); err != nil {
		return err
	}
	if err := e.ImportDir(e.Rootfs, BusyboxImage); err != nil {
		return err
	}
	noshell := filepath.Join(e.Dir, "noshell")
	if err := os.MkdirAll(noshell, 0o755); err != nil {
		return err
	}
	if err := copyFile("/bin/busybox", filepath.Join(noshell, "busybox")); err != nil {
		return err
	}
	return e.ImportDir(noshell, NoShellImage)
}

// ImportDir makes an image of a directory, with PATH=/bin.
func (e *Engines) ImportDir(dir, image string) error {
	tar := exec.Command("tar", "-C", dir, "-c", ".")
	var archive bytes.Buffer
	tar.Stdout = &archive
	if err := tar.Run(); err != nil {
		return fmt.Errorf("tar of %s: %w", dir, err)
	}
	imp := exec.Command("docker", "-H", e.DockerHost, "import", "--change", "ENV PATH=/bin", "-", image)
	imp.Stdin = &archive
	_, err := run(imp)
	return err
}

// BusyboxRoot makes a root directory of busybox-static and its applets,
// with /etc/passwd and /etc/group naming a few users.
func BusyboxRoot(root string) error {
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile("/bin/busybox", filepath.Join(root, "bin/busybox")); err != nil {
		return fmt.Errorf("busybox-static is needed (make deps): %w", err)
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nweb:x:1234:2345:web:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nwebgroup:x:2345:\nextra:x:3456:web\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

// RunTask starts a task in the tests' own containerd namespace, from a copy
// of the busybox root, with a network namespace of its own.
func (e *Engines) RunTask(id string, argv ...string) error {
	root := filepath.Join(e.Dir, "tasks", id)
	if err := BusyboxRoot(root); err != nil {
		return err
	}
	// runc's state in our directory, not under /run/containerd/runc/NAMESPACE,
	// which every containerd shares: two test runs at once would otherwise
	// both own task ID "dup". Likewise cgroups of its own rather than ctr's
	// /NAMESPACE/ID: runc 1.2 and later refuse to start a container in a
	// cgroup that has processes, the other run's task. Still ID as a whole
	// path element, as runtimes name their containers' cgroups (enter's
	// check that a PID is still the container's reads it so). Stop removes
	// the parent.
	cgroup := "/" + e.taskCgroupParent() + "/" + id
	args := append([]string{"-n", Namespace, "run", "-d", "--runc-root", filepath.Join(e.Dir, "runc"), "--cgroup", cgroup, "--rootfs", root, id}, argv...)
	_, err := e.Ctr(args...)
	return err
}

// Stop removes every container and task, stops both daemons and their
// shims, unmounts what is left under Dir and removes it. It is safe to call
// on partly started engines.
func (e *Engines) Stop() error {
	var errs []error
	if e.dockerd != nil {
		if ids, err := e.Docker("ps", "-aq"); err == nil && ids != "" {
			if _, err := e.Docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, stop(e.dockerd))
	}
	if e.containerd != nil {
		if e.crictl != "" {
			errs = append(errs, e.removePods())
		}
		if namespaces, err := e.Ctr("namespaces", "ls", "-q"); err == nil {
			for _, ns := range strings.Fields(namespaces) {
				tasks, _ := e.Ctr("-n", ns, "tasks", "ls", "-q")
				for _, id := range strings.Fields(tasks) {
					e.Ctr("-n", ns, "tasks", "kill", "-s", "SIGKILL", id)
					for i := 0; i < 50; i++ {
						if _, err := e.Ctr("-n", ns, "tasks", "delete", id); err == nil {
							break
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
				containers, _ := e.Ctr("-n", ns, "containers", "ls", "-q")
				for _, id := range strings.Fields(containers) {
					e.Ctr("-n", ns, "containers", "delete", id)
				}
			}
		}
		errs = append(errs, stop(e.containerd))
	}
	killShims(e.ContainerdAddress)
	killCgroup(e.taskCgroupParent())
	if e.cri {
		killCgroup(e.podCgroupParent())
	}
	errs = append(errs, unmountBelow(e.Dir))
	errs = append(errs, os.RemoveAll(e.Dir))
	for _, c := range e.newCgroups {
		removeCgroup(c) // only if empty: another dockerd's containers keep it
	}
	for _, p := range e.newPaths {
		os.Remove(p) // a directory only if empty: what is in it is someone else's
	}
	return errors.Join(errs...)
}

// TaskCgroup is the cgroup (ctr run --cgroup) of a task of this run's
// that a test starts itself, as RunTask's: Stop removes their parent.
func (e *Engines) TaskCgroup(id string) string {
	return "/" + e.taskCgroupParent() + "/" + id
}

// taskCgroupParent is the cgroup, in every hierarchy, of this run's tasks.
func (e *Engines) taskCgroupParent() string {
	return Namespace + "-" + filepath.Base(e.Dir)
}

// removeCgroup removes a cgroup that the tasks left empty, in every
// hierarchy mounted here (hybrid: v1 and v2). One still in use stays.
func removeCgroup(name string) {
	for _, m := range cgroupMounts() {
		os.Remove(filepath.Join(m, name))
	}
}

// killCgroup kills what still runs in a cgroup of this run's own and
// below it, in every hierarchy, then removes the cgroups, deepest first:
// a task whose containerd and shim a test killed runs on, reparented to
// init, where no engine can stop it.
func killCgroup(name string) {
	for _, m := range cgroupMounts() {
		killCgroupTree(filepath.Join(m, name))
	}
}

func killCgroupTree(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			killCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
	for try := 0; try < 100; try++ {
		procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil || len(strings.TrimSpace(string(procs))) == 0 {
			break
		}
		for _, f := range strings.Fields(string(procs)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.Remove(dir)
}

// cgroupMounts are where the cgroup hierarchies are mounted here.
func cgroupMounts() []string {
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var mounts []string
	for _, line := range strings.Split(string(mountinfo), "\n") {
		fields := strings.Fields(line)
		if i := slices.Index(fields, "-"); i > 4 && i+1 < len(fields) && strings.HasPrefix(fields[i+1], "cgroup") {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts
}

// stop ends a daemon: SIGTERM, then SIGKILL after a grace period.
func stop(cmd *exec.Cmd) error {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return nil
}

// killShims kills the runc shims our containerd left, found by the address
// on their command line.
func killShims(address string) {
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "containerd-shim") || !strings.Contains(string(cmdline), address) {
			continue
		}
		var pid int
		fmt.Sscan(ent.Name(), &pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// unmountBelow detaches every mount under dir, deepest first.
func unmountBelow(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
