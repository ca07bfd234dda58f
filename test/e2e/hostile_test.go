package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnsenter/cnsenter/test/engines"
)

// TestHostileImage: an image whose /etc/passwd is a link pointing out of
// its root, at the host's /etc/shadow. Looking up a user must read the
// container's files only: the host's shadow (which has root) is never read.
func TestHostileImage(t *testing.T) {
	d := newDockerCLI(t)
	root := filepath.Join(t.TempDir(), "hostile")
	if err := engines.BusyboxRoot(root); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(root, "etc/passwd"))
	if err := os.Symlink("/../../../../../../../etc/shadow", filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if err := eng.ImportDir(root, "cnsenter-test/hostile"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Docker("run", "-d", "--name", "hostile", "cnsenter-test/hostile", "sleep", "100000"); err != nil {
		t.Fatal(err)
	}
	defer eng.Docker("rm", "-f", "hostile")
	r := d.run(t, "", "nsenter", "-u", "root", "hostile", "id")
	if r.code != 1 || !strings.Contains(r.stderr, "unable to find user root") {
		t.Errorf("-u root must find no user (the container has no passwd), got %v", r)
	}
	// Numbers need no lookup.
	if r := d.run(t, "", "nsenter", "-u", "0:0", "hostile", "id", "-u"); r.stdout != "0\n" {
		t.Errorf("-u 0:0: %v", r)
	}
}
