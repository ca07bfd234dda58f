package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cnsenter/cnsenter/test/engines"
)

// TestCgroupScan: with dockerd dead and containerd hung, a Docker
// container by its short ID and containerd tasks by their IDs or prefixes
// are still entered, found by their cgroups (one note on stderr); --list
// shows them as RUNTIME cgroup; an unknown or ambiguous prefix is one line
// naming what to do. A container that makes a cgroup named as
// another container's ID and moves its older init there is not taken for
// it. Engines of the test's own: the others' must stay up.
func TestCgroupScan(t *testing.T) {
	e := ownEngines(t)
	defer e.Stop()
	// The attacker, started first (its init the older), with the pids
	// hierarchy writable (as a container with its own delegated cgroups
	// has it), and the engine's default capabilities.
	if _, err := e.Docker("run", "-d", "--name", "forger", "-v", "/sys/fs/cgroup/pids:/cg", engines.BusyboxImage, "sleep", "100000"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Docker("run", "-d", "--name", "scanned", engines.BusyboxImage, "sleep", "100000"); err != nil {
		t.Fatal(err)
	}
	out, err := e.Docker("inspect", "-f", "{{.Id}} {{.State.Pid}}", "scanned")
	if err != nil {
		t.Fatal(err)
	}
	var dockerID string
	var dockerPID int
	fmt.Sscan(out, &dockerID, &dockerPID)
	// Two tasks whose IDs share their first 12 digits, a third apart.
	// A letter first: a prefix of digits only would be a PID.
	base := fmt.Sprintf("a%011x", os.Getpid()) + strings.Repeat("c", 51)
	tasks := []string{base + "1", base + "2", "d" + base[1:] + "3", "e" + base[1:] + "4"}
	for _, id := range tasks {
		if err := e.RunTask(id, "/bin/sleep", "100000"); err != nil {
			t.Fatal(err)
		}
	}
	netns := func(pid int) string {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			t.Fatal(err)
		}
		return link + "\n"
	}
	taskPID := func(id string) int {
		out, err := e.Ctr("-n", engines.Namespace, "tasks", "ls")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == id {
				pid, _ := strconv.Atoi(f[1])
				return pid
			}
		}
		t.Fatalf("task %s not listed: %s", id, out)
		return 0
	}
	// The attacker makes a cgroup below its own named as the victim (the
	// fourth task) and moves its init there, to pass for the victim's.
	victim := tasks[3]
	script := `set -e; own=$(sed -n 's/^[0-9]*:pids://p' /proc/1/cgroup); mkdir /cg$own/` + victim + `; echo 1 > /cg$own/` + victim + `/cgroup.procs; echo $own`
	own, err := e.Docker("exec", "forger", "sh", "-c", script)
	if err != nil {
		t.Fatalf("the forgery: %v: %s", err, own)
	}
	// After the engines stop (t.Cleanup runs after defers): the forged
	// cgroup, then the forger's own in every hierarchy, which runc may
	// leave when the forged one was in it (an rmdir fails on one in use).
	t.Cleanup(func() {
		os.Remove("/sys/fs/cgroup/pids" + strings.TrimSpace(own) + "/" + victim)
		hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
		for _, h := range hierarchies {
			os.Remove(h + strings.TrimSpace(own))
		}
	})
	want := map[string]string{dockerID[:12]: netns(dockerPID), tasks[0]: netns(taskPID(tasks[0])), tasks[2][:16]: netns(taskPID(tasks[2]))}

	// Every daemon down: dockerd dead (its state on disk no longer found),
	// containerd hung, given back at the end whatever happens.
	containerd := daemonPID(t, filepath.Join(e.Dir, "containerd.toml"))
	pidfile, _ := os.ReadFile(e.Dir + "/docker.pid")
	dockerd, _ := strconv.Atoi(strings.TrimSpace(string(pidfile)))
	if dockerd <= 0 {
		t.Fatalf("no dockerd PID in %s/docker.pid", e.Dir)
	}
	syscall.Kill(dockerd, syscall.SIGKILL)
	syscall.Kill(containerd, syscall.SIGSTOP)
	defer syscall.Kill(containerd, syscall.SIGCONT)
	env := append(e.Env(), "CNSENTER_TIMEOUT=1s")

	for ref, ns := range want {
		r := runBinary(t, env, bin+"/cnsenter", "-t", ref, "-n", "readlink", "/proc/self/ns/net")
		t.Logf("-t %s: %s", ref, r.stderr)
		if r.code != 0 || r.stdout != ns || !strings.Contains(r.stderr, "was found by its cgroup") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("-t %s: want its network namespace %q and one note, got %v", ref, ns, r)
		}
	}
	if r := runBinary(t, env, bin+"/cnsenter", "-t", dockerID[:12], "-n", "true"); r.code != 0 {
		t.Errorf("-t %s -n true: %v", dockerID[:12], r)
	}
	r := runBinary(t, env, bin+"/cnsenter", "--list")
	t.Logf("--list with every daemon down:\n%s%s", r.stdout, r.stderr)
	for _, id := range []string{dockerID, tasks[0], tasks[1], tasks[2]} {
		found := false
		for _, line := range strings.Split(r.stdout, "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "cgroup" && strings.Contains(line, " "+id[:12]+" ") {
				found = true
			}
		}
		if !found || r.code != 0 {
			t.Errorf("--list: want %s with RUNTIME cgroup, got %v", id[:12], r)
		}
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, " "+victim[:12]+" ") && !strings.Contains(line, "ambiguous") {
			t.Errorf("--list: the forged container's row: %q", line)
		}
	}
	// An ambiguous prefix lists the candidates; an unknown one says where
	// to look. One line each.
	r = runBinary(t, env, bin+"/cnsenter", "-t", base[:12], "-n", "true")
	if r.code != 1 || !strings.Contains(r.stderr, tasks[0]) || !strings.Contains(r.stderr, tasks[1]) || !strings.Contains(r.stderr, "give more of the ID") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("an ambiguous prefix: %v", r)
	}
	// The forged cgroup: neither container entered, one line.
	r = runBinary(t, env, bin+"/cnsenter", "-t", victim[:12], "-n", "readlink", "/proc/self/ns/net")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "several cgroups name it") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("a cgroup forged by another container: %v", r)
	}
	r = runBinary(t, env, bin+"/cnsenter", "-t", "0123456789abcdef", "-n", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "no running container found") || !strings.Contains(r.stderr, "--list") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("an unknown prefix: %v", r)
	}
}

// daemonPID is the PID of the process whose command line has arg.
func daemonPID(t *testing.T, arg string) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(d + "/cmdline")
		if err != nil {
			continue
		}
		for _, a := range strings.Split(string(cmdline), "\x00") {
			if a == arg {
				pid, _ := strconv.Atoi(filepath.Base(d))
				return pid
			}
		}
	}
	t.Fatalf("no process with %s", arg)
	return 0
}
