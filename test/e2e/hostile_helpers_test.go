package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cnsenter/cnsenter/test/engines"
)

// hostileContainer runs a container, as root with Docker's default
// capabilities, of an image of the test's own: busybox and the attackers
// named, each built static from testdata/NAME into /NAME. The container and
// its image are removed when the test ends. It returns the name.
func hostileContainer(t *testing.T, name string, attackers ...string) string {
	t.Helper()
	requireEngines(t)
	root := filepath.Join(t.TempDir(), "root")
	if err := engines.BusyboxRoot(root); err != nil {
		t.Fatal(err)
	}
	for _, a := range attackers {
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", filepath.Join(root, a), "./testdata/"+a)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building the attacker %s: %v\n%s", a, err, out)
		}
	}
	image := "cnsenter-test/" + name
	if err := eng.ImportDir(root, image); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Docker("rmi", "-f", image) })
	eng.Docker("rm", "-f", name)
	if _, err := eng.Docker("run", "-d", "--name", name, image, "sleep", "100000"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Docker("rm", "-f", name) })
	return name
}
