package compat

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// What util-linux 2.42 added to nsenter. Debian's nsenter (2.38) has none
// of it, so these tests are semantic: they check what 2.42 does.

// pidfsInode is the pidfs inode of a process, as getino prints it.
func pidfsInode(t *testing.T, pid int) uint64 {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestTargetPIDInode: -t PID:INODE enters the process only if its pidfs
// inode is INODE; malformed forms are one-line errors.
func TestTargetPIDInode(t *testing.T) {
	tg := fullTarget(t)
	ino := pidfsInode(t, tg.PID)
	pidIno := fmt.Sprintf("%d:%d", tg.PID, ino)
	if r := run(t, cnsenter, "-t", pidIno, "-u", "hostname"); r.code != 0 || r.stdout != "full-target\n" {
		t.Errorf("-t PID:INODE with the right inode: %v", r)
	}
	if r := run(t, cnsenter, "--target="+pidIno, "-a", "hostname"); r.code != 0 || r.stdout != "full-target\n" {
		t.Errorf("--target=PID:INODE -a with the right inode: %v", r)
	}
	oneLineError(t, run(t, cnsenter, "-t", fmt.Sprintf("%d:%d", tg.PID, ino+1), "-u", "hostname"),
		fmt.Sprintf("process %d is not the one given to --target: its pidfs inode is %d, not %d", tg.PID, ino, ino+1))
	for _, bad := range []string{tg.T() + ":", tg.T() + ":x", tg.T() + ":0", tg.T() + ":+1", tg.T() + ":-1", "0:" + strconv.FormatUint(ino, 10), tg.T() + ":1:2"} {
		oneLineError(t, run(t, cnsenter, "-t", bad, "-u", "hostname"), fmt.Sprintf("--target: '%s' is not PID or PID:INODE", bad))
	}
}

// TestTargetPIDInodeReused: the process a PID:INODE named has exited and
// another process has its PID (chosen through ns_last_pid): it is refused,
// where the PID alone would enter the newcomer.
func TestTargetPIDInodeReused(t *testing.T) {
	requireRoot(t)
	first := exec.Command("sleep", "1000")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	pid := first.Process.Pid
	ino := pidfsInode(t, pid)
	first.Process.Kill()
	first.Wait()
	var second *exec.Cmd
	for try := 0; try < 20 && second == nil; try++ {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); err != nil {
			t.Skipf("cannot choose the next PID: %v", err)
		}
		cmd := exec.Command("unshare", "--uts", "sh", "-c", "hostname newcomer; exec sleep 1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if cmd.Process.Pid == pid {
			second = cmd
		} else {
			cmd.Process.Kill()
		}
	}
	if second == nil {
		t.Skip("could not give the PID to another process")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if r := run(t, cnsenter, "-t", strconv.Itoa(pid), "-u", "hostname"); r.stdout == "newcomer\n" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the newcomer did not set its hostname: %v", r)
		}
	}
	if newIno := pidfsInode(t, pid); newIno == ino {
		t.Fatalf("the newcomer has the same pidfs inode %d", ino)
	}
	oneLineError(t, run(t, cnsenter, "-t", fmt.Sprintf("%d:%d", pid, ino), "-u", "hostname"),
		fmt.Sprintf("process %d is not the one given to --target", pid))
}

// nsID is a namespace's ID (NS_GET_ID), as lsns shows it.
func nsID(t *testing.T, pid int, kind string) uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var id uint64
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), uintptr(unix.NS_GET_ID), uintptr(unsafe.Pointer(&id))); errno != 0 {
		t.Skipf("NS_GET_ID: %v (Linux 6.18 or later)", errno)
	}
	return id
}

// kernelAtLeast tells whether the running kernel is major.minor or later.
func kernelAtLeast(major, minor int) (string, bool) {
	var u unix.Utsname
	unix.Uname(&u)
	release := unix.ByteSliceToString(u.Release[:])
	var maj, min int
	fmt.Sscanf(release, "%d.%d", &maj, &min)
	return release, maj > major || maj == major && min >= minor
}

// TestNamespaceByID: --KIND=:NSID enters the namespace with that ID on
// Linux 6.19 and later; before, every kind says which kernel it needs.
// A malformed ID is a one-line error everywhere.
func TestNamespaceByID(t *testing.T) {
	tg := fullTarget(t)
	for _, bad := range []string{":", ":x", ":0", ":+1", ":-1", ":1x"} {
		oneLineError(t, run(t, cnsenter, "--uts="+bad, "hostname"), fmt.Sprintf("'%s' is not a namespace ID", bad[1:]))
	}
	release, has := kernelAtLeast(6, 19)
	if !has {
		for _, opt := range []string{"-m", "-u", "-i", "-n", "-p", "-C", "-U", "-T"} {
			// Handed to cnsenter-go by the front, whose message this is.
			oneLineError(t, run(t, cnsenter, "-t", tg.T(), opt+":5", "true"),
				"needs Linux 6.19 or later (namespace file handles); this is Linux "+release)
		}
		oneLineError(t, run(t, cnsenter, "--net=:5", "true"), "--net=:5: a namespace given by its ID needs Linux 6.19 or later")
		t.Skipf("entering a namespace by its ID needs Linux 6.19 or later (namespace file handles); this is %s", release)
	}
	id := nsID(t, tg.PID, "uts")
	if r := run(t, cnsenter, fmt.Sprintf("--uts=:%d", id), "hostname"); r.code != 0 || r.stdout != "full-target\n" {
		t.Errorf("--uts=:%d: %v", id, r)
	}
	oneLineError(t, run(t, cnsenter, fmt.Sprintf("--net=:%d", id), "true"), fmt.Sprintf("namespace %d is a UTS namespace, not a network namespace", id))
}

// subidTarget is a process in a user namespace owned by uid 1000 that maps
// 0 to 1000 and 1-65535 to 100000 on (as newuidmap would for a subordinate
// range; root writes the maps here), running as uid 1 there (100000 on the
// host) with the environment FOO=bar: its /proc/PID/environ belongs to
// 100000, which uid 1000 cannot read before entering.
func subidTarget(t *testing.T) *target {
	const maps = `printf '0 1000 1\n1 100000 65535\n'`
	script := `setpriv --reuid=1000 --regid=1000 --clear-groups unshare --user --fork --kill-child sh -c '
		until grep -q . /proc/self/uid_map; do sleep 0.05; done
		exec sh -c "exec setpriv --reuid=1 --regid=1 --clear-groups env -i FOO=bar PATH=/usr/bin:/bin sh -c \"` + ready + `\""' &
	u=$!
	while [ "$(readlink /proc/$u/ns/user)" = "$(readlink /proc/self/ns/user)" ]; do sleep 0.05; done
	` + maps + ` >/proc/$u/uid_map && ` + maps + ` >/proc/$u/gid_map
	wait`
	tg := startTarget(t, true, "sh", "-c", script)
	kids := children(tg.PID)
	if len(kids) != 1 {
		t.Fatalf("subid target: expected one child of unshare, found %v", kids)
	}
	tg.PID = kids[0]
	return tg
}

// TestUnprivilegedEnvAfterEntering: an unprivileged owner of a user
// namespace with -U -e gets the target's environment, which it could only
// read once in the namespace (util-linux 2.42.x); root's and a refusal
// without -U stay as they were.
func TestUnprivilegedEnvAfterEntering(t *testing.T) {
	tg := subidTarget(t)
	if st, err := os.Stat(fmt.Sprintf("/proc/%d/environ", tg.PID)); err != nil || st.Sys().(*syscall.Stat_t).Uid != 100000 {
		t.Fatalf("the target's environ should belong to 100000: %v %v", st, err)
	}
	asUser := []string{"--reuid=1000", "--regid=1000", "--clear-groups", cnsenter, "-t", tg.T()}
	for _, extra := range [][]string{{"-U", "-e"}, {"-U", "-e", "--preserve-credentials"}, {"-U", "-S", "1", "-G", "1", "-e"}} {
		r := run(t, "setpriv", append(append(append([]string{}, asUser...), extra...), "env")...)
		if r.code != 0 || !strings.Contains(r.stdout, "FOO=bar\n") || strings.Contains(r.stdout, "HOME=") {
			t.Errorf("%v: want the target's environment (FOO=bar, no HOME), got %v", extra, r)
		}
	}
	// Without entering the user namespace there is nothing to read it with.
	oneLineError(t, run(t, "setpriv", append(append([]string{}, asUser...), "-n", "-e", "env")...),
		fmt.Sprintf("cannot open /proc/%d/environ: permission denied", tg.PID))
	// Root reads it before, as ever.
	if r := run(t, cnsenter, "-t", tg.T(), "-U", "-e", "--preserve-credentials", "env"); r.code != 0 || !strings.Contains(r.stdout, "FOO=bar\n") {
		t.Errorf("root, -U -e: %v", r)
	}
}
