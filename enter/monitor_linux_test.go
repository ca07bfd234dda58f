package enter

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMonitorChild: the init of a rootless container with no cgroup of its
// own is the child of its monitor (conmon -c ID, containerd-shim -id ID)
// in a user namespace that the monitor's user owns, and only for a
// container its adapter marked rootless, with the monitor running as the
// engine's user (and, when the store keeps the monitor's PID, being that
// process). A container not marked (root's engines: docker://,
// containerd://, cri://, cgroup://) is never known by a monitor, whose
// command line anybody can forge. Neither a child in the initial user
// namespace (a setuid program its user's monitor started) nor a child of a
// process named otherwise passes for it.
func TestMonitorChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the monitor as another user")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	const id = "31ad31249401f1accd5e898881f5006af3af7b757d11dd0387736b5f4172fa7b"
	const user = 65534 // the monitor's: a rootless engine's user
	marked := Monitor{UID: user}
	for _, c := range []struct {
		argv0, flag, child string
		m                  Monitor
		pidFile            string // "": none; "monitor": the monitor's PID; "other": PID 1's
		want               bool
	}{
		{"/usr/bin/conmon", "-c", "unshare -U sleep 100", marked, "", true},
		{"/usr/bin/containerd-shim-runc-v2", "-id", "unshare -U sleep 100", marked, "", true},
		{"/usr/bin/conmon", "-c", "unshare -U sleep 100", marked, "monitor", true},
		{"/usr/bin/conmon", "-c", "unshare -U sleep 100", marked, "other", false},                 // not the store's conmon
		{"/usr/bin/conmon", "-c", "unshare -U sleep 100", Monitor{}, "", false},                   // not marked rootless: root's engine
		{"/usr/bin/containerd-shim-runc-v2", "-id", "unshare -U sleep 100", Monitor{}, "", false}, // docker://, containerd://
		{"/usr/bin/conmon", "-c", "unshare -U sleep 100", Monitor{UID: user + 1}, "", false},      // another user's monitor
		{"/usr/bin/conmon", "-c", "sleep 100", marked, "", false},                                 // the initial user namespace
		{"/usr/bin/conmon", "-n", "unshare -U sleep 100", marked, "", false},                      // not its ID
		{"/usr/bin/runc", "-c", "unshare -U sleep 100", marked, "", false},                        // not a monitor
	} {
		// sh -c SCRIPT $0 $1 $2: the monitor's command line ends "FLAG ID".
		cmd := exec.Command("/bin/sh")
		cmd.Args = []string{c.argv0, "-c", c.child + " & echo $!; wait", "monitor", c.flag, id}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: user, Gid: user, Groups: []uint32{}}}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 32)
		n, _ := out.Read(buf)
		pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
		t.Cleanup(func() {
			if err == nil {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
			cmd.Process.Kill()
			cmd.Wait()
		})
		if err != nil {
			t.Fatalf("the child's PID: %q", buf[:n])
		}
		// unshare execs sleep in its namespace; wait until it has.
		for range 100 {
			if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(comm)) == "sleep" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		m := c.m
		switch c.pidFile {
		case "monitor", "other":
			m.PIDFile = filepath.Join(t.TempDir(), "conmon.pid")
			monitor := cmd.Process.Pid
			if c.pidFile == "other" {
				monitor = 1
			}
			if err := os.WriteFile(m.PIDFile, []byte(strconv.Itoa(monitor)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tg, err := pin(pid)
		if err != nil {
			t.Fatal(err)
		}
		if got := tg.monitorChild(id, m); got != c.want {
			t.Errorf("%s %s ID, child %q, monitor %+v: monitorChild = %v", c.argv0, c.flag, c.child, m, got)
		}
		// What Pin checks: the cgroup, else the monitor.
		p, err := Pin(pid, "web", id, m)
		if err == nil {
			p.Close()
		}
		if (err == nil) != c.want {
			t.Errorf("%s %s ID, child %q, monitor %+v: Pin: %v", c.argv0, c.flag, c.child, m, err)
		}
		tg.close()
	}
}
