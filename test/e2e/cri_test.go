package e2e

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/engines"
)

// criEngines starts engines of the test's own with containerd's CRI plugin
// on, and pods as a kubelet would make them: default/web (app), prod/api
// (app), default/multi (one, two). Every pod, sandbox and container goes
// with the engines at the end of the test, failed or not.
func criEngines(t *testing.T) (*engines.Engines, []string) {
	t.Helper()
	requireEngines(t)
	e, err := engines.StartCRI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stopping the CRI engines: %v", err)
		}
	})
	for _, p := range []struct {
		ns, name   string
		containers []string
	}{{"default", "web", []string{"app"}}, {"prod", "api", []string{"app"}}, {"default", "multi", []string{"one", "two"}}} {
		if _, err := e.RunPod(p.ns, p.name, p.containers...); err != nil {
			t.Fatal(err)
		}
	}
	// cnsenter finds the CRI runtime the way a node's tools do, through
	// CONTAINER_RUNTIME_ENDPOINT; the OCI spec of a CRI container is read
	// from the same containerd (namespace k8s.io).
	return e, []string{"CONTAINER_RUNTIME_ENDPOINT=" + e.CRIEndpoint(), "CONTAINERD_ADDRESS=" + e.ContainerdAddress}
}

// who is what the container entered says it is: NAMESPACE/POD/CONTAINER.
func who(t *testing.T, env []string, target string, extra ...string) result {
	t.Helper()
	args := append(append([]string{}, extra...), "-t", target, "cat", "/tmp/who")
	return cnsenter(t, env, args...)
}

func TestCRI(t *testing.T) {
	e, env := criEngines(t)
	t.Logf("%s, crictl %s", e.Versions(), crictlVersion(e))

	t.Run("references", func(t *testing.T) {
		for target, want := range map[string]string{
			"cri://default/web/app":   "default/web/app",
			"cri://default/web":       "default/web/app", // the pod's one container
			"cri://web":               "default/web/app", // namespace default, as kubectl
			"cri://prod/api/app":      "prod/api/app",    // another namespace
			"cri://prod/api":          "prod/api/app",
			"cri://default/multi/two": "default/multi/two",
		} {
			if r := who(t, env, target); r.code != 0 || r.stdout != want+"\n" || r.stderr != "" {
				t.Errorf("%s: want %s, got %v", target, want, r)
			}
		}
	})

	t.Run("the option over the environment", func(t *testing.T) {
		down := append(append([]string{}, env...), "CONTAINER_RUNTIME_ENDPOINT=unix:///nonexistent/cri.sock")
		if r := who(t, down, "cri://prod/api", "--cri-endpoint", e.CRIEndpoint()); r.code != 0 || r.stdout != "prod/api/app\n" {
			t.Errorf("--cri-endpoint: %v", r)
		}
	})

	// --confine reads the container's OCI spec: from its bundle (beside
	// its pod's sandbox's, whose shim runs the pod's containers: no
	// containerd is asked), or from containerd's namespace k8s.io, where
	// the CRI plugin keeps it.
	t.Run("the OCI spec", func(t *testing.T) {
		pid := initPID(t, e, containerIDs(t, e)["prod/api/app"])
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			t.Fatal(err)
		}
		var want string
		for _, line := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(line, "CapEff:") {
				want = line + "\n"
			}
		}
		for _, extra := range [][]string{{"CONTAINERD_ADDRESS=/nonexistent.sock"}, {"CNSENTER_SPEC_FROM_CONTAINERD=1"}} {
			r := cnsenter(t, append(append([]string{}, env...), extra...), "--confine", "-t", "cri://prod/api/app", "grep", "CapEff:", "/proc/self/status")
			if r.code != 0 || r.stdout != want || want == "" {
				t.Errorf("%v --confine: want the container's %q, got %v", extra, want, r)
			}
		}
	})

	t.Run("a multi-container pod", func(t *testing.T) {
		r := who(t, env, "cri://default/multi")
		oneLineError(t, r, "cri://default/multi: names several containers: cri://default/multi/one, cri://default/multi/two; give one of these references")
	})

	t.Run("not found", func(t *testing.T) {
		oneLineError(t, who(t, env, "cri://api"), "cri://api: no running pod api in namespace default (see 'cnsenter --list')")
		oneLineError(t, who(t, env, "cri://prod/api/nosuch"), "cri://prod/api/nosuch: pod prod/api has no container nosuch")
	})

	t.Run("bare names", func(t *testing.T) {
		ids := containerIDs(t, e)
		for target, want := range map[string]string{
			"api":                    "prod/api/app",      // a pod name
			"one":                    "default/multi/one", // a container name
			ids["default/multi/two"]: "default/multi/two", // an ID, which containerd's k8s.io knows too: CRI names it
			ids["prod/api/app"][:12]: "prod/api/app",      // an ID prefix
		} {
			if r := who(t, env, target); r.code != 0 || r.stdout != want+"\n" {
				t.Errorf("%s: want %s, got %v", target, want, r)
			}
		}
		// Several pods' containers, and the other runtimes' (the Docker
		// container web of the shared engines): full references to choose from.
		oneLineError(t, who(t, env, "app"), "names several containers: cri://default/web/app, cri://prod/api/app")
		r := who(t, env, "web")
		oneLineError(t, r, "cri://default/web/app")
		if !strings.Contains(r.stderr, "docker://") {
			t.Errorf("web is Docker's too: %v", r)
		}
	})

	t.Run("list", func(t *testing.T) {
		r := cnsenter(t, env, "--list")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("--list: %v", r)
		}
		ids := containerIDs(t, e)
		seen := map[string]bool{}
		for _, line := range strings.Split(r.stdout, "\n") {
			f := strings.Fields(line)
			if len(f) < 7 {
				continue
			}
			for ref, id := range ids {
				if f[3] != id[:12] {
					continue
				}
				ns, name, _ := strings.Cut(ref, "/")
				if f[0] != "cri" || f[1] != ns || f[2] != name || f[4] == "0" || f[5] != engines.CRIImage || f[6] != "running" {
					t.Errorf("%s is listed as %q", ref, line)
				}
				if seen[ref] {
					t.Errorf("%s is listed twice (containerd's k8s.io too?)", ref)
				}
				seen[ref] = true
			}
		}
		if len(seen) != len(ids) {
			t.Errorf("--list shows %d of the %d pods' containers:\n%s", len(seen), len(ids), r.stdout)
		}
		r = cnsenter(t, env, "--list", "--json")
		var list []struct {
			Runtime, Namespace, Name, Ref string
		}
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("--list --json: %v: %v", err, r)
		}
		found := false
		for _, c := range list {
			if c.Ref == "cri://prod/api/app" {
				found = c.Runtime == "cri" && c.Namespace == "prod" && c.Name == "api/app"
			}
		}
		if !found {
			t.Errorf("--list --json has no cri://prod/api/app as such:\n%s", r.stdout)
		}
	})

	t.Run("completion", func(t *testing.T) {
		t.Setenv("CONTAINER_RUNTIME_ENDPOINT", e.CRIEndpoint())
		got := complete(t, "cnsenter", "-t", "cri://")
		slices.Sort(got)
		if want := []string{"cri://default/multi/one", "cri://default/multi/two", "cri://default/web/app", "cri://prod/api/app"}; !slices.Equal(got, want) {
			t.Errorf("-t cri://<TAB>: got %q, want %q", got, want)
		}
	})

	t.Run("endpoint down", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "cri.sock")
		r := who(t, env, "cri://web", "--cri-endpoint", "unix://"+sock)
		oneLineError(t, r, "cri://web: cannot reach the CRI runtime at "+sock)
		// The environment's, likewise.
		down := append(append([]string{}, env...), "CONTAINER_RUNTIME_ENDPOINT="+sock)
		oneLineError(t, who(t, down, "cri://web"), "cannot reach the CRI runtime at "+sock)
		// A bare name is still found in the runtimes that answer; --list
		// lists theirs and says which one did not answer, in one line.
		if r := who(t, down, "api"); r.code != 1 || !strings.Contains(r.stderr, sock) {
			t.Errorf("a bare name only CRI knows, CRI down: %v", r)
		}
		r = cnsenter(t, down, "--list")
		if r.code != 0 || !strings.Contains(r.stdout, "docker") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, sock) {
			t.Errorf("--list with CRI down: %v", r)
		}
	})

	t.Run("endpoint hung", func(t *testing.T) {
		// Accepts the connection, never answers: the deadline, one line.
		sock := filepath.Join(t.TempDir(), "hung.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		r := who(t, env, "cri://web", "--cri-endpoint", sock, "--timeout", "500ms")
		oneLineError(t, r, "cri://web: the CRI runtime at "+sock+" did not answer within 500ms (is it hung?")
	})

	t.Run("a container not running", func(t *testing.T) {
		pod, err := e.RunPod("default", "stopped", "app")
		if err != nil {
			t.Fatal(err)
		}
		defer e.RemovePod(pod.ID)
		if _, err := e.Crictl("stop", pod.Containers["app"]); err != nil {
			t.Fatal(err)
		}
		oneLineError(t, who(t, env, "cri://default/stopped/app"), "cri://default/stopped/app: container cri://default/stopped/app is not running (exited)")
		oneLineError(t, who(t, env, "cri://default/stopped"), "cri://default/stopped: container cri://default/stopped/app is not running (exited)")
	})

	t.Run("bad references", func(t *testing.T) {
		for target, want := range map[string]string{
			"cri://":               "give a container after cri://",
			"cri://a/b/c/d":        "not a reference: give cri://NAMESPACE/POD/CONTAINER, cri://NAMESPACE/POD or cri://POD",
			"cri://default//app":   "the pod name is empty",
			"cri://default/web/":   "the container name is empty",
			"cri://we b":           `the pod name "we b" has ' '`,
			"cri://default/-x/app": `the pod name "-x" does not start with a letter or a digit`,
			"cri://a\x1b[2Jb":      "cannot be in a container name",
		} {
			r := who(t, env, target)
			oneLineError(t, r, want)
		}
		// Nothing was asked of the runtime: a bad reference fails even
		// with no endpoint at all.
		r := who(t, env, "cri://a/b/c/d", "--cri-endpoint", "/nonexistent.sock")
		oneLineError(t, r, "not a reference")
	})

	t.Run("a pod deleted", func(t *testing.T) {
		pod, err := e.RunPod("default", "victim", "app")
		if err != nil {
			t.Fatal(err)
		}
		// Deleted while a session is inside: the session ends with the
		// container (its PID namespace's init is gone, and the kernel
		// kills the rest), nothing of it left running.
		cmd := exec.Command(filepath.Join(bin, "cnsenter"), "-t", "cri://default/victim", "sh", "-c", "echo inside; exec sleep 100001")
		cmd.Env = append(append(os.Environ(), eng.Env()...), env...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		line := make([]byte, 7)
		if _, err := stdout.Read(line); err != nil || string(line) != "inside\n" {
			t.Fatalf("the session did not start: %q, %v, %s", line, err, stderr.String())
		}
		if err := e.RemovePod(pod.ID); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the session outlived its pod")
		}
		if cmd.ProcessState.Success() || strings.Count(stderr.String(), "\n") > 1 {
			t.Errorf("the session's end: %v, stderr %q", cmd.ProcessState, stderr.String())
		}
		// cnsenter's end can be seen before the kernel has finished the
		// rest of the PID namespace's: wait for that, not for a time.
		var left []string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if left = processesWith("sleep 100001"); len(left) == 0 {
				break
			}
		}
		for _, pid := range left {
			stat, _ := os.ReadFile("/proc/" + pid + "/stat")
			t.Errorf("a process of the session is left: %s", stat)
		}
		// Deleted before: one line, as for any pod that is not there.
		oneLineError(t, who(t, env, "cri://default/victim"), "cri://default/victim: no running pod victim in namespace default")
	})
}

// containerIDs are the pods' containers' IDs, by NAMESPACE/POD/CONTAINER.
func containerIDs(t *testing.T, e *engines.Engines) map[string]string {
	t.Helper()
	out, err := e.Crictl("ps", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ps struct {
		Containers []struct {
			ID       string                `json:"id"`
			Metadata struct{ Name string } `json:"metadata"`
			Labels   map[string]string     `json:"labels"`
		} `json:"containers"`
	}
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range ps.Containers {
		ids[c.Labels["io.kubernetes.pod.namespace"]+"/"+c.Labels["io.kubernetes.pod.name"]+"/"+c.Metadata.Name] = c.ID
	}
	return ids
}

// initPID is a CRI container's init, as crictl inspect gives it.
func initPID(t *testing.T, e *engines.Engines, id string) string {
	t.Helper()
	out, err := e.Crictl("inspect", "-o", "go-template", "--template", "{{.info.pid}}", id)
	if err != nil || out == "" || out == "0" {
		t.Fatalf("crictl inspect %s: %q, %v", id, out, err)
	}
	return out
}

func crictlVersion(e *engines.Engines) string {
	out, err := e.Crictl("version")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(out), " ")
}

// processesWith are the PIDs of the processes whose command line has s.
func processesWith(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, ent := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), s) {
			pids = append(pids, ent.Name())
		}
	}
	return pids
}
