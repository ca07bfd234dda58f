package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReadOnlyThroughProc: a read-only session sees the container's mounts
// read-only, but /proc/PID/root of a container process is that process's
// own view, writable; a link the container plants
// (/etc/motd -> /proc/1/root/tmp/...) would take the session's write
// there. With --read-only no write reaches the container's files however
// the path goes (Landlock, enter/stage2/landlock.c); /dev/null still takes
// writes.
func TestReadOnlyThroughProc(t *testing.T) {
	d := newDockerCLI(t)
	const name = "procescape"
	image := hostileImage(t, name, func(root string) {
		os.Remove(filepath.Join(root, "etc/motd"))
		if err := os.Symlink("/proc/1/root/tmp/through-link", filepath.Join(root, "etc/motd")); err != nil {
			t.Fatal(err)
		}
	})
	runHostile(t, name, image, "sleep", "100000")
	script := `echo x >/etc/motd; echo x >/proc/1/root/tmp/direct; echo x >/proc/self/root/tmp/self; echo ok >/dev/null && echo devnull`
	for _, c := range []struct {
		what string
		run  func() result
	}{
		{"cnsenter -a --read-only", func() result {
			return cnsenter(t, nil, "-t", "docker://"+name, "-a", "--read-only", "sh", "-c", script)
		}},
		{"docker nsenter --read-only", func() result { return d.run(t, "", "nsenter", "--read-only", name, "sh", "-c", script) }},
		{"docker nsenter -u 0 --read-only", func() result {
			return d.run(t, "", "nsenter", "-u", "0", "--read-only", name, "sh", "-c", script)
		}},
		{"cnsenter --host-tools --read-only", func() result {
			return cnsenter(t, nil, "-t", "docker://"+name, "--host-tools", "--read-only", "sh", "-c",
				`echo x >/proc/1/root/tmp/direct; echo x >$CONTAINER_ROOT/tmp/tree; echo ok >/dev/null && echo devnull`)
		}},
	} {
		r := c.run()
		if r.stdout != "devnull\n" {
			t.Errorf("%s: /dev/null must take writes: %v", c.what, r)
		}
		out, _ := eng.Docker("exec", name, "ls", "/tmp")
		if strings.TrimSpace(out) != "" {
			t.Errorf("%s: the read-only session wrote into the container's /tmp: %q (%v)", c.what, out, r)
			eng.Docker("exec", name, "sh", "-c", "rm -f /tmp/*")
		}
	}
	// The container itself still writes through its link.
	if _, err := eng.Docker("exec", name, "sh", "-c", "echo x >/etc/motd && rm /tmp/through-link"); err != nil {
		t.Errorf("the container's own write through its link failed: %v", err)
	}
}

// TestNotOurDevNull: a program entered in a container's files gets the
// container's /dev/null on 0, 1 and 2 where we had the host's: with a
// descriptor of the host's, the container's root (CAP_FOWNER) could change
// the host's device node for everyone, through fchmod or /proc/self/fd.
func TestNotOurDevNull(t *testing.T) {
	d := newDockerCLI(t)
	var before syscall.Stat_t
	if err := syscall.Stat("/dev/null", &before); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod("/dev/null", os.FileMode(before.Mode&0o777)) }) // should the test fail
	devnull, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	// The program chmods what its stdin is; it tells which inode it was.
	script := `chmod 600 /proc/self/fd/0; stat -L -c %i /proc/self/fd/0; stat -c %i /dev/null`
	for what, argv := range map[string][]string{
		"docker nsenter -i": {"docker", "-H", eng.DockerHost, "nsenter", "-i", "web", "sh", "-c", script},
		"docker nsenter":    {"docker", "-H", eng.DockerHost, "nsenter", "web", "sh", "-c", script},
		"cnsenter":          {filepath.Join(bin, "cnsenter"), "-t", "docker://web", "-a", "sh", "-c", script},
	} {
		r := runStdin(t, devnull, append(eng.Env(), d.env...), argv[0], argv[1:]...)
		var now syscall.Stat_t
		syscall.Stat("/dev/null", &now)
		if now.Mode != before.Mode {
			os.Chmod("/dev/null", os.FileMode(before.Mode&0o777))
			t.Errorf("%s: the container changed the host's /dev/null (mode %o to %o)", what, before.Mode, now.Mode)
		}
		lines := strings.Fields(r.stdout)
		if r.code != 0 || len(lines) != 2 || lines[0] != lines[1] {
			t.Errorf("%s: the program's stdin is not the container's /dev/null: %v", what, r)
		}
		eng.Docker("exec", "web", "chmod", "666", "/dev/null")
	}
}
