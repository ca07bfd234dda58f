package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestBadInput: each mistake exits 1 with one line naming what was wrong,
// and leaves no process behind.
func TestBadInput(t *testing.T) {
	tg := fullTarget(t)
	ut := userTarget(t) // maps uid 0 only
	T, UT := tg.T(), ut.T()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	free := freePID(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-t", free, "-n", "true"}, "process " + free + " does not exist"},
		{[]string{"-t", "0", "-n", "true"}, "'0' is not a valid PID"},
		{[]string{"--net=/etc/hostname", "true"}, "/etc/hostname is not a namespace file (given to --net)"},
		{[]string{"--net=/tmp", "true"}, "/tmp is not a namespace file"},
		{[]string{"--net=" + fifo, "true"}, fifo + " is not a namespace file"},
		{[]string{"--net=/nonexistent", "true"}, "cannot open /nonexistent (given to --net)"},
		{[]string{"--net=/proc/" + T + "/ns/uts", "true"}, "is a uts namespace, not a network namespace"},
		{[]string{"-t", T, "--mount=/proc/" + T + "/ns/net", "true"}, "is a network namespace, not a mount namespace"},
		{[]string{"-t", UT, "-U", "-S", "5", "true"}, "cannot set uid 5"},
		{[]string{"-t", UT, "-U", "-G", "5", "true"}, "cannot set gid 5"},
		{[]string{"-t", T, "-n", "-S", "x", "true"}, "--setuid: 'x' is not a uid"},
		{[]string{"-t", T, "-n", "-G", "-1", "true"}, "--setgid: '-1' is not a gid"},
		{[]string{"-t", T, "-n", "-N", "x", "true"}, "--net-socket: 'x' is not a file descriptor"},
		{[]string{"-t", T, "-n", "-w/", "-W", "/", "true"}, "--wd and --wdns are mutually exclusive"},
		{[]string{"true"}, "no namespace to enter"},
		{[]string{"-t", T, "-e", "true"}, "no namespace to enter"},
		{[]string{"-n", "true"}, "--net needs a target"},
		{[]string{"-a", "true"}, "--all needs a target"},
		{[]string{"--net=/proc/self/ns/net", "-e", "true"}, "--env needs a target"},
		{[]string{"--net=/proc/self/ns/net", "-r", "true"}, "--root without a directory needs a target"},
		{[]string{"-t", T, "-n", "-r/nonexistent", "true"}, "cannot open /nonexistent (given to --root)"},
		{[]string{"-t", T, "-n", "--wd=/etc/hostname", "true"}, "/etc/hostname (given to --wd): not a directory"},
		{[]string{"-t", T, "-m", "-W", "/nonexistent", "true"}, "cannot open the working directory /nonexistent"},
		{[]string{"-t", T, "-n", "-N", "99", "true"}, "cannot get descriptor 99 of process " + T},
		{[]string{"--json"}, "--json goes with --list"},
		{[]string{"-t", T, "-n", "--timeout", "soon", "true"}, "'soon' is not a positive duration"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			oneLineError(t, run(t, cnsenter, c.args...), c.want)
			if left := processesOf(cnsenter); len(left) != 0 {
				t.Errorf("processes left behind: %v", left)
			}
		})
	}
}

func TestRefusesSetuidInstall(t *testing.T) {
	requireRoot(t)
	// A real uid that differs from the effective one is what a set-user-ID
	// install would give every local user.
	dir, err := os.MkdirTemp("", "cnsenter-setuid-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // reachable by uid 1000
	bin := copyOf(t, dir, 0o755|os.ModeSetuid)
	r := run(t, "setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", bin, "-t", "1", "-n", "true")
	oneLineError(t, r, "refusing to run with a real uid different from the effective uid")
}

// freePID finds a PID no process has.
func freePID(t *testing.T) string {
	for pid := 32000; pid > 300; pid-- {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			return strconv.Itoa(pid)
		}
	}
	t.Fatal("no free PID")
	return ""
}

// processesOf lists the processes running a binary.
func processesOf(bin string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}
