package e2e

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/cnsenter/cnsenter/test/engines"
)

// TestDockerDown: with dockerd hung (SIGSTOP), then dead (SIGKILL), its
// containers still run, and docker://NAME still resolves, from dockerd's
// state on disk, with a note that the daemon was bypassed. Engines of the
// test's own: the others' dockerd must stay up.
func TestDockerDown(t *testing.T) {
	e := ownEngines(t)
	defer e.Stop()
	if _, err := e.Docker("run", "-d", "--name", "survivor", "--hostname", "survivor", engines.BusyboxImage, "sleep", "100000"); err != nil {
		t.Fatal(err)
	}
	id, err := e.Docker("inspect", "-f", "{{.Id}}", "survivor")
	if err != nil {
		t.Fatal(err)
	}
	pidfile, _ := os.ReadFile(e.Dir + "/docker.pid")
	var dockerd int
	for _, c := range strings.TrimSpace(string(pidfile)) {
		dockerd = dockerd*10 + int(c-'0')
	}
	env := append(e.Env(), "CNSENTER_TIMEOUT=1s")
	check := func(state string, extraEnv ...string) {
		t.Helper()
		for _, target := range []string{"docker://survivor", "docker://" + id[:12]} {
			r := runBinary(t, append(env, extraEnv...), bin+"/cnsenter", "-t", target, "-u", "hostname")
			if r.stdout != "survivor\n" || r.code != 0 || !strings.Contains(r.stderr, "the daemon was bypassed; its PID confirmed by containerd (namespace moby)") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("dockerd %s, %s: want the container entered and one note, got %v", state, target, r)
			}
		}
		// A name that is nowhere is still an error.
		if r := runBinary(t, append(env, extraEnv...), bin+"/cnsenter", "-t", "docker://ghost", "-u", "true"); r.code != 1 || !strings.Contains(r.stderr, "no such container") {
			t.Errorf("dockerd %s, an unknown name: %v", state, r)
		}
	}
	syscall.Kill(dockerd, syscall.SIGSTOP)
	check("hung")
	syscall.Kill(dockerd, syscall.SIGKILL)
	syscall.Kill(dockerd, syscall.SIGCONT)
	// Dead, dockerd no longer says where its data root is.
	check("dead", "CNSENTER_DOCKER_ROOT="+e.Dir+"/docker")
}
