package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// probe prints what a program sees of its namespaces, identity and place,
// and nothing that changes from one run to the next.
const probe = `for f in /proc/self/ns/*; do echo "$f $(readlink $f)"; done; hostname; id; pwd; cat /proc/self/cgroup; echo "$0"`

func TestSameAsNsenterFullTarget(t *testing.T) {
	tg := fullTarget(t)
	T := tg.T()
	for _, args := range [][]string{
		{"-t", T, "-a", "sh", "-c", probe},
		{"-t", T, "-a", "-F", "sh", "-c", probe},
		{"--target", T, "--all", "sh", "-c", probe},
		{"--targ=" + T, "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--time", "sh", "-c", probe},
		{"-t" + T, "-mp", "sh", "-c", probe}, // -mp is --mount=p: both fail to open "p"
		{"-t", T, "-m", "-p", "sh", "-c", probe},
		{"-t", T, "-u", "hostname"},
		{"-t", T, "-n", "cat", "/proc/net/dev"},
		{"-t", T, "-i", "sh", "-c", "readlink /proc/self/ns/ipc"},
		{"-t", T, "-C", "cat", "/proc/self/cgroup"},
		{"-t", T, "-T", "sh", "-c", "readlink /proc/self/ns/time"},
		{"-t", T, "-T", "-F", "sh", "-c", "readlink /proc/self/ns/time"},
		{"-t", T, "-p", "sh", "-c", "readlink /proc/self/ns/pid_for_children"},
		{"-t", T, "-p", "-F", "sh", "-c", "readlink /proc/self/ns/pid_for_children"},
		{"-t", T, "-m", "-F", "sh", "-c", "pwd; ls /proc | grep -c '^[0-9]'"},
		{"-t", T, "-a", "-w", "pwd"},
		{"-t", T, "-a", "-r", "-w", "sh", "-c", "pwd; ls /"},
		{"-t", T, "-a", "-W", "/etc", "pwd"},
		{"-t", T, "-a", "-W/etc", "pwd"},
		{"-t", T, "-a", "-w/usr", "pwd"},
		{"-t", T, "-a", "--wd=/usr", "pwd"},
		{"-t", T, "-a", "-S", "5", "-G", "7", "id"},
		{"-t", T, "-n", "-S5", "id"},
		{"-t", T, "-n", "-G", "7", "id"},
		{"-t", T, "-a", "--preserve-credentials", "id"},
		{"--net=/proc/" + T + "/ns/net", "cat", "/proc/net/dev"},
		{"--uts=/proc/" + T + "/ns/uts", "-i/proc/" + T + "/ns/ipc", "hostname"},
		{"-t", T, "-a", "--net=/proc/self/ns/net", "sh", "-c", "readlink /proc/self/ns/net /proc/self/ns/uts"},
		// Exit statuses.
		{"-t", T, "-n", "sh", "-c", "exit 3"},
		{"-t", T, "-p", "sh", "-c", "exit 4"},
		{"-t", T, "-n", "/nonexistent/program"},
		{"-t", T, "-p", "no-such-program-anywhere"},
		{"-t", T, "-n", "/etc/hostname"},
		{"-t", T, "-p", "/etc"},
		// Bad input: both exit 1.
		{"-n", "true"},
		{"-t", "999999999", "-n", "true"},
		{"-t", T, "--net=/etc/hostname", "true"},
		{"-t", T, "--net=/proc/" + T + "/ns/uts", "true"},
		{"-x"},
		{"--u"},
		{"-t"},
		{"--all=1"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) { same(t, args...) })
		// The same again through /proc/PID/ns files checked against the
		// pidfd, the path for kernels whose setns(2) takes no pidfd.
		t.Run(fmt.Sprint("no pidfd setns ", args), func(t *testing.T) {
			sameAs(t, "", []string{"CNSENTER_NO_PIDFD_SETNS=1"}, nil, args...)
		})
	}
}

func TestSameAsNsenterSignals(t *testing.T) {
	tg := fullTarget(t)
	for _, fork := range []string{"-p", "-n"} {
		// The program dies of a signal: so does nsenter, forked or not.
		r := same(t, "-t", tg.T(), fork, "sh", "-c", "kill -TERM $$")
		if r.signal != 15 {
			t.Errorf("%s: want death by SIGTERM, got %v", fork, r)
		}
	}
}

func TestSameAsNsenterShell(t *testing.T) {
	tg := fullTarget(t)
	// No program: a login shell, $SHELL or /bin/sh, reading stdin (which
	// is never closed).
	sameAs(t, "echo $0; hostname\n", []string{"SHELL=/bin/sh"}, nil, "-t", tg.T(), "-a")
	sameAs(t, "echo $0\n", []string{"SHELL=/bin/bash"}, nil, "-t", tg.T(), "-u")
	sameAs(t, "echo $0\n", []string{"SHELL="}, nil, "-t", tg.T(), "-u")
	sameAs(t, "hello\n", nil, nil, "-t", tg.T(), "-p", "cat")
}

func TestSameAsNsenterUserNamespace(t *testing.T) {
	tg := userTarget(t)
	T := tg.T()
	for _, args := range [][]string{
		{"-t", T, "-a", "sh", "-c", probe},
		{"-t", T, "-U", "id"},
		{"-t", T, "-U", "-n", "-u", "hostname"},
		{"-t", T, "--user", "-S", "0", "-G", "0", "id"},
		{"-t", T, "-U", "--preserve-credentials", "sh", "-c", "id; grep Cap /proc/self/status"},
		{"-t", T, "-U", "-S", "5", "id"}, // not mapped: both fail
		{"-t", T, "-U", "-F", "-p", "-m", "sh", "-c", probe},
		{"--user=/proc/" + T + "/ns/user", "--uts=/proc/" + T + "/ns/uts", "hostname"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) { same(t, args...) })
	}
}

func TestSameAsNsenterUnprivileged(t *testing.T) {
	tg := unprivilegedTarget(t, "--map-root-user")
	T := tg.T()
	asUser := []string{"setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"}
	for _, args := range [][]string{
		// The user namespace must be entered before the others, which only
		// its owner's new capabilities allow: the second pass.
		{"-t", T, "-a", "--preserve-credentials", "sh", "-c", probe},
		{"-t", T, "-U", "-n", "-u", "--preserve-credentials", "hostname"},
		{"-t", T, "-U", "-u", "hostname"},
		{"-t", T, "-n", "-u", "hostname"}, // no user namespace: not allowed
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) { sameAs(t, "", nil, asUser, args...) })
	}
}

func TestSameAsNsenterChrootedTarget(t *testing.T) {
	root := busyboxRoot(t)
	if err := os.MkdirAll(filepath.Join(root, "work/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "marker"), []byte("inside the chroot\n"), 0o644)
	tg := startTarget(t, true, "unshare", "--mount", "--uts", "--fork", "--kill-child",
		"chroot", root, "/bin/sh", "-c", "cd /work/dir; "+ready)
	T := tg.T()
	for _, args := range [][]string{
		{"-t", T, "-m", "-r", "cat", "/marker"},
		{"-t", T, "-m", "-r", "-w", "/bin/sh", "-c", "pwd; ls /"},
		{"-t", T, "-u", "-r", "/bin/pwd"}, // keeps our directory, seen from the new root
		{"-t", T, "-u", "-r" + root, "cat", "/marker"},
		{"-t", T, "-u", "--root=" + root, "-w", "/bin/pwd"},
		{"-t", T, "-m", "-r", "-W", "/work", "/bin/pwd"},
		{"-t", T, "-u", "-w", "/bin/pwd"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) { same(t, args...) })
	}
}

// busyboxRoot makes a root directory holding a static busybox and its
// applets, for targets that live in a chroot.
func busyboxRoot(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("busybox-static is needed (make deps installs it): %v", err)
	}
	root := t.TempDir()
	os.Chmod(root, 0o755)
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), busybox, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "ls", "pwd", "sleep", "id", "hostname", "env", "ps", "mount", "touch", "mkdir"} {
		if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
