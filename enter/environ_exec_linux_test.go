package enter

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// A container's init that runc has not yet replaced by the container's
// program is waited for: its environment is runc's until then. The
// stand-in is a shell called as runc calls its init, which waits a moment
// before it executes the program with another environment.
func TestEnvironAfterRuncInit(t *testing.T) {
	dir := t.TempDir()
	init := filepath.Join(dir, runcInit)
	if err := os.Symlink("/bin/sh", init); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(init, "-c", "sleep 0.3; X=program exec sleep 30")
	cmd.Env = []string{"X=runc", "PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	tgt, err := pin(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.close()
	env, err := tgt.environ()
	if err != nil || !slices.Contains(env, "X=program") {
		t.Errorf("environ = %q, %v; want the program's (X=program)", env, err)
	}
}
