package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// containerLike is a target that looks like a container from the host: its
// own mount, PID, UTS and network namespaces, a root of its own (a chroot
// of rootfs) and a volume (a tmpfs at /data) that only its mount namespace
// has.
func containerLike(t *testing.T, rootfs, sh string) *target {
	return startTarget(t, true, "unshare", "--mount", "--pid", "--uts", "--net", "--fork", "--kill-child", "sh", "-c",
		fmt.Sprintf(`set -e; mount -t tmpfs tmpfs %[1]s/data; echo volume > %[1]s/data/f; mount -t proc proc %[1]s/proc
		hostname container; exec chroot %[1]s %[2]s -c "echo ready; exec sleep 100000"`, rootfs, sh))
}

func TestHostTools(t *testing.T) {
	root := busyboxRoot(t)
	for _, d := range []string{"data", "proc"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	tg := containerLike(t, root, "/bin/sh")
	hostMounts, containerMounts := mountinfo(t, os.Getpid()), mountinfo(t, tg.PID)

	r := run(t, cnsenter, "-t", tg.T(), "--host-tools", "sh", "-c",
		`echo "$CONTAINER_ROOT"; cat $CONTAINER_ROOT/data/f; tr '\0' ' ' </proc/1/cmdline; echo; ps -e -o comm= >/dev/shm/ps.$$; sort /dev/shm/ps.$$ | tr '\n' ' '; rm /dev/shm/ps.$$; echo
		hostname; readlink /proc/self/ns/net /proc/self/ns/mnt; command -v ps`)
	lines := strings.Split(r.stdout, "\n")
	if r.code != 0 || len(lines) < 7 {
		t.Fatalf("%v", r)
	}
	// ps lists the container's processes and ours, not the host's.
	want := []string{"/mnt", "volume", "sleep 100000 ", "ps sh sleep ", "container", nsLink(t, tg.PID, "net")}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d: got %q, want %q (%v)", i, lines[i], w, r)
		}
	}
	if lines[6] == nsLink(t, tg.PID, "mnt") || lines[6] == nsLink(t, os.Getpid(), "mnt") {
		t.Errorf("the session must be in a mount namespace of its own, got %s", lines[6])
	}
	if lines[7] != "/usr/bin/ps" && lines[7] != "/bin/ps" {
		t.Errorf("want the host's ps, got %q", lines[7])
	}
	// --container-root moves it; the host's files stay where they are.
	r = run(t, cnsenter, "-t", tg.T(), "--host-tools", "--container-root=/srv", "sh", "-c", `echo $CONTAINER_ROOT; cat /srv/data/f; test -x /usr/bin/env && echo host`)
	if r.stdout != "/srv\nvolume\nhost\n" {
		t.Errorf("--container-root=/srv: %v", r)
	}

	// While a session runs and after it, the mount tables of the host and
	// of the container are what they were.
	s := startSession(t, "-t", tg.T(), "--host-tools", "--read-only", "sleep", "1000")
	for _, when := range []string{"during", "after"} {
		if got := mountinfo(t, os.Getpid()); got != hostMounts {
			t.Errorf("%s the session the host's mount table changed:\n%s\nwas\n%s", when, got, hostMounts)
		}
		if got := mountinfo(t, tg.PID); got != containerMounts {
			t.Errorf("%s the session the container's mount table changed:\n%s\nwas\n%s", when, got, containerMounts)
		}
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// TestHostToolsOnASingleBinaryImage: a root holding one static binary and
// nothing else, mounted read-only.
func TestHostToolsOnASingleBinaryImage(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed (make deps installs it): %v", err)
	}
	for _, d := range []string{"data", "proc"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	if err := os.WriteFile(filepath.Join(root, "busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t, true, "unshare", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c",
		fmt.Sprintf(`set -e; mount -t tmpfs tmpfs %[1]s/data; mount -t proc proc %[1]s/proc; mount --bind %[1]s %[1]s; mount -o remount,bind,ro %[1]s
		exec chroot %[1]s /busybox sh -c "echo ready; exec /busybox sleep 100000"`, root))
	if r := run(t, cnsenter, "-t", tg.T(), "sh", "-c", "true"); r.code != 1 {
		t.Errorf("no namespace: want the usual error, got %v", r)
	}
	r := run(t, cnsenter, "-t", tg.T(), "--host-tools", "sh", "-c", `ls -A $CONTAINER_ROOT | tr '\n' ' '; ps -e -o comm=`)
	if r.stdout != "busybox data proc busybox\nsh\nps\n" || r.code != 0 {
		t.Errorf("want the image's one file and its process, got %v", r)
	}
	// The image has no shell of its own: without host tools there is none.
	if r := run(t, cnsenter, "-t", tg.T(), "-a", "-r", "sh"); r.code != 127 {
		t.Errorf("no shell in the image: want 127, got %v", r)
	}
}

func TestReadOnly(t *testing.T) {
	root := busyboxRoot(t)
	for _, d := range []string{"data", "proc"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	tg := containerLike(t, root, "/bin/sh")
	for _, args := range [][]string{
		{"-t", tg.T(), "-a", "--read-only", "sh", "-c", "cat " + root + "/data/f; touch " + root + "/data/new"},
		{"-t", tg.T(), "--host-tools", "--read-only", "sh", "-c", "cat $CONTAINER_ROOT/data/f; touch $CONTAINER_ROOT/data/new"},
	} {
		r := run(t, cnsenter, args...)
		if r.stdout != "volume\n" || r.code != 1 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("%q: want reads to work and writes refused, got %v", args, r)
		}
	}
	// The container itself still writes, while a read-only session runs.
	s := startSession(t, "-t", tg.T(), "-a", "--read-only", "sleep", "1000")
	if r := run(t, cnsenter, "-t", tg.T(), "-a", "-r", "sh", "-c", "echo more > /data/g && cat /data/g"); r.stdout != "more\n" {
		t.Errorf("the container must keep writing: %v", r)
	}
	s.cmd.Process.Kill()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-t", tg.T(), "-n", "--read-only", "true"}, "--read-only needs the mount namespace"},
		{[]string{"-t", tg.T(), "-a", "-r", "--read-only", "true"}, "--read-only does not go with --root or --wd"},
		{[]string{"-t", tg.T(), "--host-tools", "-r", "true"}, "--host-tools keeps the host's root"},
		{[]string{"-t", tg.T(), "--host-tools", "--container-root=/nonexistent", "true"}, "--container-root: /nonexistent is not an existing directory"},
		{[]string{"--host-tools", "true"}, "--all needs a target"},
	} {
		oneLineError(t, run(t, cnsenter, c.args...), c.want)
	}
}

func mountinfo(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
