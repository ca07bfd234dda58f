package bundle

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/enter"
)

// A stand-in shim: a shell named containerd-shim-test, started in a bundle
// directory NAMESPACE/ID, whose child plays the task's init.
func TestSpec(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ns1", "task1")
	os.MkdirAll(bundle, 0o755)
	os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"ociVersion":"1.0.2","process":{"cwd":"/srv","env":["A=1"]}}`), 0o644)
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "containerd-shim-test")
	os.WriteFile(shim, sh, 0o755)
	cmd := exec.Command(shim, "-c", "sleep 1000 & echo $! >init.pid; wait")
	cmd.Dir = bundle
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(filepath.Join(bundle, "init.pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	defer func() {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}()
	spec, err := SpecJSON(pinned(t, pid), "ns1", "task1")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"ociVersion":"1.0.2","process":{"cwd":"/srv","env":["A=1"]}}`; string(spec) != want {
		t.Errorf("spec: %s", spec)
	}
	for _, c := range []struct {
		pid       int
		namespace string
		id        string
		why       string
	}{
		{pid, "ns1", "task2", "the bundle of ns1/task2 beside the shim's"},
		{pid, "ns1", "..", "not a bundle of ns1/.."},
		{pid, "ns1", "a/b", "not a bundle of ns1/a/b"},
		{pid, "ns2", "task1", "not a bundle of ns2/task1"},
		{cmd.Process.Pid, "ns1", "task1", "no containerd shim"},
		{os.Getpid(), "ns1", "task1", "no containerd shim"},
	} {
		if _, err := SpecJSON(pinned(t, c.pid), c.namespace, c.id); err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("Spec(%d, %s, %s) = %v, want an error saying %q", c.pid, c.namespace, c.id, err, c.why)
		}
	}
	// One shim for a pod's containers (containerd's CRI plugin): the
	// shim runs in the sandbox's bundle, the container's is beside it.
	sibling := filepath.Join(dir, "ns1", "ctr2")
	os.MkdirAll(sibling, 0o755)
	os.WriteFile(filepath.Join(sibling, "config.json"), []byte(`{"ociVersion":"1.2.0"}`), 0o644)
	os.WriteFile(filepath.Join(sibling, "init.pid"), []byte(strconv.Itoa(pid)), 0o644)
	if spec, err := SpecJSON(pinned(t, pid), "ns1", "ctr2"); err != nil || string(spec) != `{"ociVersion":"1.2.0"}` {
		t.Errorf("the bundle beside the shim's: %s, %v", spec, err)
	}
	os.WriteFile(filepath.Join(sibling, "init.pid"), []byte("1"), 0o644)
	if _, err := SpecJSON(pinned(t, pid), "ns1", "ctr2"); err == nil || !strings.Contains(err.Error(), "init.pid") {
		t.Errorf("a bundle beside whose init.pid is another process: %v", err)
	}
	os.WriteFile(filepath.Join(bundle, "init.pid"), []byte("1"), 0o644)
	if _, err := SpecJSON(pinned(t, pid), "ns1", "task1"); err == nil || !strings.Contains(err.Error(), "init.pid") {
		t.Errorf("a bundle whose init.pid is another process: %v", err)
	}
}

func pinned(t *testing.T, pid int) *enter.Process {
	t.Helper()
	p, err := enter.Pin(pid, "", "", enter.Monitor{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
