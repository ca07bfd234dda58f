// Package engines starts a private containerd and dockerd for the
// end-to-end tests, builds test images from busybox-static (no registry is
// reachable), and removes everything again: containers, tasks, daemons,
// mounts and the temporary directory.
//
// Both daemons listen on sockets under a temporary directory and never
// touch the host's: dockerd runs with --bridge=none --iptables=false
// --ip6tables=false, so containers have loopback only and nothing reaches
// any other address.
package engines

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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

// Engines are the running daemons.
type Engines struct {
	Dir               string // everything lives below it
	DockerHost        string // unix://DIR/docker.sock
	ContainerdAddress string // DIR/containerd.sock
	Rootfs            string // the busybox root the images and tasks are made of

	containerd, dockerd *exec.Cmd
	newPaths            []string // host paths the daemons will create, that Stop removes
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
func Start() (e *Engines, err error) {
	for _, bin := range []string{"containerd", "dockerd", "runc", "ctr", "docker"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s is missing: run make deps (test/install-deps.sh)", bin)
		}
	}
	var newPaths []string
	for _, p := range hostPaths {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			newPaths = append(newPaths, p)
		}
	}
	dir, err := os.MkdirTemp("", "cnsenter-engines-")
	if err != nil {
		return nil, err
	}
	e = &Engines{Dir: dir, newPaths: newPaths, DockerHost: "unix://" + filepath.Join(dir, "docker.sock"), ContainerdAddress: filepath.Join(dir, "containerd.sock")}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "containerd/root"), filepath.Join(dir, "containerd/state"), e.ContainerdAddress, e.ContainerdAddress+".ttrpc")
	if err := os.WriteFile(filepath.Join(dir, "containerd.toml"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		return nil, err
	}
	if e.containerd, err = e.daemon("containerd", "--config", filepath.Join(dir, "containerd.toml")); err != nil {
		return nil, err
	}
	if err := e.waitFor("containerd", func() error { _, err := e.Ctr("version"); return err }); err != nil {
		return nil, err
	}
	if e.dockerd, err = e.daemon("dockerd", "--data-root", filepath.Join(dir, "docker"), "--exec-root", filepath.Join(dir, "docker-exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"), "-H", e.DockerHost, "--containerd", e.ContainerdAddress,
		"--config-file", filepath.Join(dir, "daemon.json"), "--bridge=none", "--iptables=false", "--ip6tables=false"); err != nil {
		return nil, err
	}
	if err := e.waitFor("dockerd", func() error { _, err := e.Docker("version"); return err }); err != nil {
		return nil, err
	}
	if err := e.buildImages(); err != nil {
		return nil, err
	}
	return e, nil
}

// daemon starts a daemon that dies with us, logging to DIR/NAME.log.
func (e *Engines) daemon(name string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(e.Dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
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

// Ctr runs ctr against the test containerd.
func (e *Engines) Ctr(args ...string) (string, error) {
	return run(exec.Command("ctr", append([]string{"--address", e.ContainerdAddress}, args...)...))
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
	// both own task ID "dup".
	args := append([]string{"-n", Namespace, "run", "-d", "--runc-root", filepath.Join(e.Dir, "runc"), "--rootfs", root, id}, argv...)
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
	errs = append(errs, unmountBelow(e.Dir))
	errs = append(errs, os.RemoveAll(e.Dir))
	for _, p := range e.newPaths {
		os.Remove(p) // a directory only if empty: what is in it is someone else's
	}
	return errors.Join(errs...)
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
