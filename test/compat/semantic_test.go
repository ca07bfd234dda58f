package compat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// session is cnsenter running a long program, to look at from outside.
type session struct {
	cmd     *exec.Cmd
	program int // host PID of the program (cnsenter itself without a fork)
}

// startSession runs cnsenter with a program that ends in "exec sleep", and
// waits until that sleep runs.
func startSession(t *testing.T, args ...string) *session {
	t.Helper()
	return startSessionEnv(t, nil, args...)
}

// startSessionEnv is startSession with more environment.
func startSessionEnv(t *testing.T, env []string, args ...string) *session {
	t.Helper()
	cmd := exec.Command(cnsenter, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &session{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, pid := range append([]int{cmd.Process.Pid}, children(cmd.Process.Pid)...) {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); string(comm) == "sleep\n" {
				s.program = pid
				return s
			}
		}
	}
	t.Fatalf("cnsenter %q: the program never started", args)
	return nil
}

// TestEveryKindWithAndWithoutFork proves that stage 2 enters each kind, in
// particular user, mnt and time, which a multi-threaded Go process cannot:
// the program's /proc/PID/ns links, seen from the host, are the target's.
// Entering a PID namespace is what makes cnsenter fork, so the forking runs
// also enter our own PID namespace (a no-op) to take that path.
func TestEveryKindWithAndWithoutFork(t *testing.T) {
	tg := userTarget(t)
	ownPID := fmt.Sprintf("--pid=/proc/%d/ns/pid", os.Getpid())
	for _, kind := range []string{"user", "cgroup", "ipc", "uts", "net", "pid", "mnt", "time"} {
		option := map[string]string{"user": "-U", "cgroup": "-C", "ipc": "-i", "uts": "-u", "net": "-n",
			"pid": "-p", "mnt": "-m", "time": "-T"}[kind]
		for _, fork := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s fork=%v", kind, fork), func(t *testing.T) {
				args := []string{"-t", tg.T(), option}
				switch {
				case !fork:
					args = append(args, "-F")
				case kind != "pid":
					args = append(args, ownPID)
				}
				s := startSession(t, append(args, "sleep", "1000")...)
				if forked := s.program != s.cmd.Process.Pid; forked != fork {
					t.Errorf("want fork=%v, but forked=%v", fork, forked)
				}
				link := kind
				if kind == "pid" && !fork {
					link = "pid_for_children" // without a fork only children are in it
				}
				if got, want := nsLink(t, s.program, link), nsLink(t, tg.PID, kind); got != want {
					t.Errorf("program is in %s, target in %s", got, want)
				}
				if kind != "user" && nsLink(t, s.program, "user") != nsLink(t, os.Getpid(), "user") {
					t.Errorf("entering %s also changed the user namespace", kind)
				}
			})
		}
	}
}

func TestAllSkipsOwnUserNamespace(t *testing.T) {
	tg := fullTarget(t)
	s := startSession(t, "-t", tg.T(), "-a", "sleep", "1000")
	for _, kind := range []string{"cgroup", "ipc", "uts", "net", "pid", "mnt", "time", "user"} {
		if got, want := nsLink(t, s.program, kind), nsLink(t, tg.PID, kind); got != want {
			t.Errorf("%s: program in %s, target in %s", kind, got, want)
		}
	}
}

// TestEnv: -e gives the target's environment. The program here comes from
// our files (the target's mount namespace is ours), so, unlike util-linux,
// the variables that would make it load or run what the target chose are
// left out, and PATH, SHELL and HOME are ours (enter/environ_linux.go).
func TestEnv(t *testing.T) {
	tg := startTarget(t, true, "unshare", "--uts", "--fork", "--kill-child",
		"env", "-i", "FOO=bar baz", "SHELL=/bin/sh", "PATH=/usr/bin:/bin", "HOME=/root", "LD_PRELOAD=/nonexistent/evil.so",
		"BASH_ENV=/nonexistent/rc", "sh", "-c", ready)
	want := strings.NewReplacer("LD_PRELOAD=/nonexistent/evil.so\x00", "", "BASH_ENV=/nonexistent/rc\x00", "").Replace(settledEnviron(t, tg))
	ours := []string{"MINE=1", "SHELL=/bin/sh", "PATH=/usr/bin:/bin", "HOME=/root"}
	r := runWith(t, "", ours, cnsenter, "-t", tg.T(), "-u", "-e", "cat", "/proc/self/environ")
	if r.stdout != want || !strings.Contains(r.stdout, "FOO=bar baz\x00") || r.code != 0 {
		t.Errorf("-e: got %v, want the target's environment without LD_PRELOAD and BASH_ENV %q", r, want)
	}
	// The shell is ours, as PATH is: the program comes from our files.
	r = runWith(t, "echo $0\n", []string{"SHELL=/bin/bash"}, cnsenter, "-t", tg.T(), "-u", "-e")
	if r.stdout != "-bash\n" {
		t.Errorf("-e without a program: want our $SHELL as a login shell, got %v", r)
	}
	// In a mount namespace of the target's own, its files and its shell.
	mnt := startTarget(t, true, "unshare", "--mount", "--fork", "--kill-child",
		"env", "-i", "SHELL=/bin/sh", "PATH=/usr/bin:/bin", "LD_PRELOAD=", "sh", "-c", ready)
	if r = runWith(t, "echo $0\n", []string{"SHELL=/bin/bash"}, cnsenter, "-t", mnt.T(), "-m", "-e"); r.stdout != "-sh\n" {
		t.Errorf("-m -e without a program: want the target's $SHELL as a login shell, got %v", r)
	}
}

// TestOddEnvironment: an environment that is huge or not UTF-8 passes
// through -e byte for byte.
func TestOddEnvironment(t *testing.T) {
	// 1 MiB of environment: one variable may have 128 KiB at most.
	argv := []string{"unshare", "--uts", "--fork", "--kill-child", "env", "-i", "ODD=\xff\xfe\x01", "PATH=/usr/bin:/bin"}
	for i := 0; i < 10; i++ {
		argv = append(argv, fmt.Sprintf("BIG%d=%s", i, strings.Repeat("x", 100<<10)))
	}
	tg := startTarget(t, true, append(argv, "sh", "-c", ready)...)
	want := settledEnviron(t, tg)
	r := runWith(t, "", []string{"PATH=/usr/bin:/bin"}, cnsenter, "-t", tg.T(), "-u", "-e", "env", "-u", "SHELL", "-u", "HOME", "cat", "/proc/self/environ")
	if r.code != 0 || r.stdout != want || !strings.Contains(r.stdout, "ODD=\xff\xfe\x01\x00") {
		t.Errorf("-e with an odd environment: exit %d, %d bytes, want %d", r.code, len(r.stdout), len(want))
	}
}

// settledEnviron is a target's environment once its script has become
// sleep (before, it is the shell's; in the middle of execve, empty).
func settledEnviron(t *testing.T, tg *target) string {
	t.Helper()
	for i := 0; i < 500; i++ {
		comm, _ := os.ReadFile("/proc/" + tg.T() + "/comm")
		env, err := os.ReadFile("/proc/" + tg.T() + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		if string(comm) == "sleep\n" && len(env) > 0 {
			return string(env)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the target never became sleep")
	return ""
}

func TestFollowCredentials(t *testing.T) {
	// A target whose user namespace maps its uid 0 to host uid 100000:
	// "follow" means its IDs as seen where the program runs.
	tg := startTarget(t, true, "setpriv", "--reuid=100000", "--regid=100000", "--clear-groups",
		"unshare", "--user", "--map-root-user", "--uts", "--fork", "--kill-child", "sh", "-c", ready)
	if r := run(t, cnsenter, "-t", tg.T(), "-U", "-S", "follow", "-G", "follow", "sh", "-c", "id -u; id -g"); r.stdout != "0\n0\n" {
		t.Errorf("inside the user namespace: want uid and gid 0, got %v", r)
	}
	if r := run(t, cnsenter, "-t", tg.T(), "-u", "-S", "follow", "-G", "follow", "sh", "-c", "id -u; id -g"); r.stdout != "100000\n100000\n" {
		t.Errorf("from the host's user namespace: want 100000, got %v", r)
	}
}

func TestKeepCaps(t *testing.T) {
	// The case: an unprivileged owner of a user namespace enters it
	// keeping its uid; the capabilities it gains there survive execve only
	// through the ambient set.
	tg := unprivilegedTarget(t, "--map-current-user")
	asUser := []string{"setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", cnsenter, "-t", tg.T(), "-U", "--preserve-credentials"}
	caps := func(extra ...string) map[string]string {
		argv := append(append(append([]string{}, asUser...), extra...), "cat", "/proc/self/status")
		r := run(t, argv[0], argv[1:]...)
		if r.code != 0 {
			t.Fatalf("%v", r)
		}
		m := map[string]string{}
		for _, line := range strings.Split(r.stdout, "\n") {
			if k, v, ok := strings.Cut(line, ":\t"); ok && strings.HasPrefix(k, "Cap") {
				m[k] = v
			}
		}
		return m
	}
	with := caps("--keep-caps")
	if with["CapAmb"] == "0000000000000000" || with["CapEff"] != with["CapAmb"] {
		t.Errorf("--keep-caps: want the namespace's capabilities ambient and effective, got %v", with)
	}
	if without := caps(); without["CapEff"] != "0000000000000000" || without["CapAmb"] != "0000000000000000" {
		t.Errorf("without --keep-caps: want no capabilities, got %v", without)
	}
}

func TestUserParent(t *testing.T) {
	tg := startTarget(t, true, "unshare", "--user", "--map-root-user", "--fork", "--kill-child",
		"unshare", "--user", "--map-root-user", "--fork", "--kill-child", "sh", "-c", ready)
	// tg.PID is the inner unshare; its child, the target, shares its user
	// namespace, whose parent no process is in: ask the kernel for it.
	inner := children(tg.PID)
	if len(inner) != 1 {
		t.Fatalf("want the nested target, found %v", inner)
	}
	want := parentUserNamespace(t, inner[0])
	for _, args := range [][]string{
		{"-t", strconv.Itoa(inner[0]), "--user-parent"},
		{"--user=/proc/" + strconv.Itoa(inner[0]) + "/ns/user", "--user-parent"},
	} {
		s := startSession(t, append(args, "sleep", "1000")...)
		if got := nsLink(t, s.program, "user"); got != want {
			t.Errorf("%q: program in %s, want the parent %s", args, got, want)
		}
	}
}

func parentUserNamespace(t *testing.T, pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parent, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_USERNS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(parent)
	link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", parent))
	if err != nil {
		t.Fatal(err)
	}
	return link
}

func TestNetSocket(t *testing.T) {
	requireRoot(t)
	// A socket made in a network namespace of its own, held as fd 3 by a
	// target that itself stays in ours.
	sock, netns := socketInNewNetns(t)
	target := exec.Command("sleep", "1000")
	target.ExtraFiles = []*os.File{sock}
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Process.Kill(); target.Wait() })
	r := run(t, cnsenter, "-t", strconv.Itoa(target.Process.Pid), "-N", "3", "readlink", "/proc/self/ns/net")
	if strings.TrimSpace(r.stdout) != netns || r.code != 0 {
		t.Errorf("-N 3: want %s, got %v", netns, r)
	}
	oneLineError(t, run(t, cnsenter, "-t", strconv.Itoa(target.Process.Pid), "-N", "0", "true"), "is not a socket")
	oneLineError(t, run(t, cnsenter, "-N", "3", "true"), "--net-socket needs a target")
}

// socketInNewNetns makes a socket in a new network namespace, on a thread
// that is thrown away afterwards.
func socketInNewNetns(t *testing.T) (*os.File, string) {
	type made struct {
		f     *os.File
		netns string
		err   error
	}
	ch := make(chan made)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- made{err: err}
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			ch <- made{err: err}
			return
		}
		netns, err := os.Readlink(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		ch <- made{os.NewFile(uintptr(fd), "socket"), netns, err}
	}()
	m := <-ch
	if m.err != nil {
		t.Fatal(m.err)
	}
	t.Cleanup(func() { m.f.Close() })
	return m.f, m.netns
}

func TestFollowContextWithoutSELinux(t *testing.T) {
	requireRoot(t)
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("SELinux is enabled here; this tests the machine without it")
	}
	oneLineError(t, run(t, cnsenter, "-t", strconv.Itoa(os.Getpid()), "-n", "-Z", "true"), "SELinux is not enabled")
}

// TestJoinCgroup puts a target in cgroups of its own on every hierarchy
// mounted here (v1 controllers and v2, on this hybrid machine), then checks
// that the program joins all of them and the waiting parent none.
func TestJoinCgroup(t *testing.T) {
	tg := fullTarget(t)
	name := fmt.Sprintf("cnsenter-test-%d", os.Getpid())
	var dirs []string
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, m := range append(mounts, "/sys/fs/cgroup") {
		if _, err := os.Stat(filepath.Join(m, "cgroup.procs")); err != nil {
			continue
		}
		dir := filepath.Join(m, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
		t.Cleanup(func() { removeCgroup(t, dir) })
		// A new cpuset has no CPUs and no memory nodes to run on.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if data, err := os.ReadFile(filepath.Join(m, f)); err == nil {
				os.WriteFile(filepath.Join(dir, f), data, 0)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(tg.T()), 0); err != nil {
			t.Fatalf("moving the target into %s: %v", dir, err)
		}
	}
	if len(dirs) == 0 {
		t.Skip("no cgroup hierarchy is mounted under /sys/fs/cgroup")
	}
	// Without a fork the program is cnsenter's own process, moved in.
	r := run(t, cnsenter, "-t", tg.T(), "-u", "-c", "cat", "/proc/self/cgroup")
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasSuffix(line, ":/"+name) {
			t.Errorf("-c: %q is not in the target's cgroup (%v)", line, r)
		}
	}
	// With a fork the program joins, the waiting parent stays out: forked
	// straight into the v2 cgroup (clone3), or moved in like the others.
	for _, env := range [][]string{nil, {"CNSENTER_NO_CLONE_INTO_CGROUP=1"}} {
		s := startSessionEnv(t, env, "-t", tg.T(), "-p", "-c", "sleep", "1000")
		for _, dir := range dirs {
			data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			pids := strings.Fields(string(data))
			if !slices.Contains(pids, strconv.Itoa(s.program)) {
				t.Errorf("%v %s: the program %d is not in %v", env, dir, s.program, pids)
			}
			if slices.Contains(pids, strconv.Itoa(s.cmd.Process.Pid)) {
				t.Errorf("%v %s: the waiting parent %d joined too", env, dir, s.cmd.Process.Pid)
			}
		}
	}
	oneLineError(t, run(t, cnsenter, "--net=/proc/self/ns/net", "-c", "true"), "--join-cgroup needs a target")
}

// removeCgroup moves what is left in a test cgroup out, then removes it.
func removeCgroup(t *testing.T, dir string) {
	parent := filepath.Join(filepath.Dir(dir), "cgroup.procs")
	for i := 0; i < 100; i++ {
		data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, pid := range strings.Fields(string(data)) {
			os.WriteFile(parent, []byte(pid), 0)
		}
		if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("could not remove %s", dir)
}
