package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Attacks found by reviewer R (attacker's review after issues 12 and 13).
// Each test fails on the code it was written against: see its comment.

// TestGuardInitBoundingSetLowered: the guard judges what the container's
// processes can do from its init's bounding set alone (t.capabilities
// "CapBnd" in guard_linux.go reachable), and the init is the container's:
// a root init with Docker's default CAP_SETPCAP lowers its own bounding set
// by one capability it never needs (CAP_AUDIT_WRITE, 29) with
// PR_CAPBSET_DROP. A confined program (the container's 14 capabilities)
// then has "a capability beyond the container's", and the guard lets a
// session through that it refuses for an honest init ("host tools
// confined" in TestSessionOutOfContainersReach). Every other process of the
// container (any docker exec, and whatever the init forked before the drop)
// still holds all 14, a superset of the program's, and as uid 0 passes the
// ptrace access check: it opens the program's /proc/PID/root, the host's
// root, and reads and writes the host's files with the container's
// CAP_DAC_OVERRIDE. The same drop of CAP_SYS_PTRACE defeats the "container
// may have CAP_SYS_PTRACE" refusal of a container run with it.
func TestGuardInitBoundingSetLowered(t *testing.T) {
	d := newDockerCLI(t)
	const name = "capdropped"
	runHostile(t, name, hostileImage(t, name, nil, "probe", "capdrop"), "/capdrop", "29")
	secret, content := hostSecret(t)
	written := filepath.Join(filepath.Dir(secret), "written")
	match := fmt.Sprintf("7100.%d", time.Now().UnixNano()%1000)
	s := background(t, filepath.Dir(secret), d.env, "docker", "-H", eng.DockerHost, "nsenter", "--confine", "--host-tools", name, "sleep", match)
	if done, code := s.exited(15 * time.Second); done {
		if code != 1 || !strings.Contains(s.out.String(), "refusing to enter") {
			t.Errorf("want exit 1 and one line refusing, got exit %d: %q", code, s.out)
		}
		return
	}
	t.Errorf("the confined host-tools session was not refused (the init lowered its bounding set): what the container reaches of it follows")
	seen := probeFrom(t, name, -1, "-match", match, "-secret", secret, "-write", written)
	t.Logf("probe as the container's root (docker exec): %v", seen)
	if strings.Contains(fmt.Sprint(seen), content) {
		t.Errorf("the container's root read the host's secret through the session's /proc/PID/root")
	}
	if _, err := os.Stat(written); err == nil {
		os.Remove(written)
		t.Errorf("the container's root wrote a host file through the session's /proc/PID/root")
	}
}

// TestHostShellHomeFromContainer: with --env, a host program gets the
// container's environment minus a list of names (hostProgramEnviron), and
// HOME is not on it. With no program, cnsenter runs our $SHELL as a login
// shell, which reads $HOME/.profile (bash: ~/.bash_profile, ~/.bashrc,
// ~/.inputrc as well; git ~/.gitconfig, whose core.pager runs a command;
// python ~/.local site-packages, whose .pth files run code; vim ~/.vimrc).
// The container sets HOME=/mnt/evil: /mnt is where --host-tools puts its
// root by default (--container-root), and a program from the host's files
// that does not enter the mount namespace can be sent to the container's
// files through the overlay's upperdir, which /proc/self/mountinfo shows
// it. The container's /evil/.profile then runs as the host's root with
// every capability. XDG_CONFIG_HOME, INPUTRC, VIMINIT/EXINIT, OPENSSL_CONF
// (an engine is a shared library), TERMINFO are the same kind.
func TestHostShellHomeFromContainer(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	image := hostileImage(t, "homeenv", func(root string) {
		os.MkdirAll(filepath.Join(root, "evil"), 0o755)
		os.WriteFile(filepath.Join(root, "evil", ".profile"), []byte("id -u > "+pwned+"\n"), 0o644)
		os.WriteFile(filepath.Join(root, "evil", ".bash_profile"), []byte("id -u > "+pwned+"\n"), 0o644)
	})
	runHostile(t, "homeenv", "-e", "HOME=/mnt/evil", image, "sleep", "100000")
	s := background(t, "/", []string{"SHELL=/bin/sh"}, filepath.Join(bin, "cnsenter"), "-t", "docker://homeenv", "--host-tools", "-e")
	if done, code := s.exited(20 * time.Second); !done {
		t.Fatalf("the login shell did not end: %s", s.out)
	} else {
		t.Logf("session: exit %d: %s", code, s.out)
	}
	if data, err := os.ReadFile(pwned); err == nil {
		t.Errorf("the container's $HOME/.profile ran in the host's login shell, as uid %s", strings.TrimSpace(string(data)))
	}
}
