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
	runHostile(t, name, hostileImage(t, name, nil, attackers...), "sleep", "100000")
	return name
}

// hostileImage makes the image cnsenter-test/NAME of busybox, the attackers
// named (as hostileContainer) and whatever add (if not nil) puts into its
// root. It is removed when the test ends.
func hostileImage(t *testing.T, name string, add func(root string), attackers ...string) string {
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
	if add != nil {
		add(root)
	}
	image := "cnsenter-test/" + name
	if err := eng.ImportDir(root, image); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Docker("rmi", "-f", image) })
	return image
}

// runHostile runs the container NAME in the background: run holds docker
// run's options, then the image and its command. It is removed when the
// test ends.
func runHostile(t *testing.T, name string, run ...string) {
	t.Helper()
	eng.Docker("rm", "-f", name)
	if _, err := eng.Docker(append([]string{"run", "-d", "--name", name}, run...)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Docker("rm", "-f", name) })
}
