package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cnsenter/cnsenter/test/engines"
)

func TestDockerReferences(t *testing.T) {
	requireEngines(t)
	id := dockerInspect(t, "web", "{{.Id}}")
	pid := dockerInspect(t, "web", "{{.State.Pid}}")
	for _, target := range []string{"docker://web", "docker://" + id, "docker://" + id[:12], "docker:///web", "web", "containerd://moby/" + id} {
		t.Run(target, func(t *testing.T) {
			r := cnsenter(t, nil, "-t", target, "-a", "sh", "-c", "hostname; readlink /proc/self/ns/net")
			if want := "webhost\n" + nsLink(t, pid, "net") + "\n"; r.stdout != want || r.code != 0 {
				t.Errorf("want %q, got %v", want, r)
			}
		})
	}
	// The PID listed is the one Docker reports.
	r := cnsenter(t, nil, "--list", "--json")
	var list []struct {
		Name string
		PID  int
	}
	json.Unmarshal([]byte(r.stdout), &list)
	listed := false
	for _, c := range list {
		listed = listed || c.Name == "web" && itoa(c.PID) == strings.TrimSpace(pid)
	}
	if r.code != 0 || !listed {
		t.Errorf("--list --json: want web with PID %s, got %v", pid, r)
	}
	// No namespace option: a container's are all of them; a PID's, none
	// (util-linux's error).
	if r := cnsenter(t, nil, "-t", "docker://web", "sh", "-c", "hostname; readlink /proc/self/ns/mnt"); r.code != 0 || r.stdout != "webhost\n"+nsLink(t, pid, "mnt")+"\n" {
		t.Errorf("a container with no namespace option: %v", r)
	}
	oneLineError(t, cnsenter(t, nil, "-t", strings.TrimSpace(pid), "true"), "no namespace to enter")
	// Single namespaces.
	if r := cnsenter(t, nil, "-t", "docker://web", "-u", "hostname"); r.stdout != "webhost\n" {
		t.Errorf("-u: %v", r)
	}
	if r := cnsenter(t, nil, "-t", "docker://web", "-n", "cat", "/proc/net/dev"); r.code != 0 || strings.Contains(r.stdout, "eth0") || !strings.Contains(r.stdout, "lo:") {
		t.Errorf("-n: want the container's loopback only: %v", r)
	}
}

func TestContainerdReferences(t *testing.T) {
	requireEngines(t)
	pid := taskPID(t, "task1")
	check := func(env []string, args ...string) {
		t.Helper()
		r := cnsenter(t, env, append(args, "-a", "sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/mnt")...)
		if want := nsLink(t, pid, "net") + "\n" + nsLink(t, pid, "mnt") + "\n"; r.stdout != want {
			t.Errorf("%q: want %q, got %v", args, want, r)
		}
	}
	check(nil, "-t", "containerd://"+engines.Namespace+"/task1")
	check([]string{"CONTAINERD_NAMESPACE=" + engines.Namespace}, "-t", "containerd://task1")
	check(nil, "-t", "task1")
	// The flag wins over the environment.
	check([]string{"CONTAINERD_ADDRESS=/nonexistent.sock"}, "--containerd-address", eng.ContainerdAddress, "-t", "task1")
}

func TestBareNameInSeveralRuntimes(t *testing.T) {
	requireEngines(t)
	id := dockerInspect(t, "dup", "{{.Id}}")
	r := cnsenter(t, nil, "-t", "dup", "-n", "true")
	oneLineError(t, r, "dup: names several containers")
	for _, ref := range []string{"docker://" + id, "containerd://" + engines.Namespace + "/dup"} {
		if !strings.Contains(r.stderr, ref) {
			t.Errorf("want the candidate %s listed, got %q", ref, r.stderr)
		}
	}
}

func TestOptionsWithContainerReferences(t *testing.T) {
	requireEngines(t)
	pid := dockerInspect(t, "web", "{{.State.Pid}}")
	if r := cnsenter(t, nil, "-t", "docker://web", "-a", "-e", "sh", "-c", "echo $FOO $HOSTNAME"); r.stdout != "bar webhost\n" {
		t.Errorf("-e: the container's environment: %v", r)
	}
	if r := cnsenter(t, nil, "-t", "docker://web", "-a", "-w", "pwd"); r.stdout != "/tmp\n" {
		t.Errorf("-w: the container's working directory: %v", r)
	}
	if r := cnsenter(t, nil, "-t", "docker://web", "-m", "-r", "cat", "/etc/passwd"); !strings.Contains(r.stdout, "web:x:1234") {
		t.Errorf("-r: the container's root: %v", r)
	}
	want, _ := readFile("/proc/" + pid + "/cgroup")
	if r := cnsenter(t, nil, "-t", "docker://web", "-u", "-c", "cat", "/proc/self/cgroup"); r.stdout != want {
		t.Errorf("-c: want the container's cgroups %q, got %v", want, r)
	}
	// As the container's user, within its processes' reach: with its
	// environment, never ours (enter/guard).
	if r := cnsenter(t, nil, "-t", "docker://webuser", "-a", "-e", "-S", "follow", "-G", "follow", "sh", "-c", "id -u; id -g"); r.stdout != "1234\n2345\n" {
		t.Errorf("-S follow -G follow: %v", r)
	}
	// A container without a shell: the program is not found (127), as it
	// would be with docker exec.
	if r := cnsenter(t, nil, "-t", "docker://noshell", "-a", "sh"); r.code != 127 {
		t.Errorf("no shell in the image: want 127, got %v", r)
	}
}

func TestList(t *testing.T) {
	requireEngines(t)
	r := cnsenter(t, nil, "--list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) < 2 || !strings.HasPrefix(lines[0], "RUNTIME") {
		t.Fatalf("--list: %v", r)
	}
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, strings.Fields(l))
	}
	has := func(runtime, ns, name string) bool {
		return slices.ContainsFunc(rows, func(f []string) bool { return f[0] == runtime && f[1] == ns && f[2] == name })
	}
	for _, want := range [][3]string{{"docker", "moby", "web"}, {"containerd", engines.Namespace, "task1"}} {
		if !has(want[0], want[1], want[2]) {
			t.Errorf("--list: no row for %v in %v", want, r)
		}
	}
	for _, f := range rows {
		if f[0] == "containerd" && f[1] == "moby" {
			t.Errorf("--list: Docker's containers must be listed once, as Docker's: %v", f)
		}
		if f[2] == "created" || f[2] == "exited" {
			t.Errorf("--list: only running containers: %v", f)
		}
	}

	r = cnsenter(t, nil, "--list", "--json")
	var list []struct {
		Runtime, Namespace, Name, ID, Image, Status string
		PID                                         int
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != 0 {
		t.Fatalf("--list --json: %v: %v", err, r)
	}
	id := dockerInspect(t, "web", "{{.Id}}")
	if !slices.ContainsFunc(list, func(c struct {
		Runtime, Namespace, Name, ID, Image, Status string
		PID                                         int
	}) bool {
		return c.ID == id && c.Name == "web" && c.Image == engines.BusyboxImage && c.Status == "running" && itoa(c.PID) == dockerInspect(t, "web", "{{.State.Pid}}")
	}) {
		t.Errorf("--list --json: web is missing or wrong: %v", r)
	}

	// A runtime that does not answer is noted and hides nothing else.
	r = cnsenter(t, nil, "--list", "--docker-host", "unix:///nonexistent/docker.sock")
	if r.code != 0 || !strings.Contains(r.stdout, "task1") || !strings.Contains(r.stderr, "cannot reach Docker at unix:///nonexistent/docker.sock") {
		t.Errorf("--list with Docker down: %v", r)
	}
}
