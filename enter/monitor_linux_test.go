package enter

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMonitorChild: the init of a rootless container with no cgroup of its
// own is the child of its monitor (conmon -c ID, containerd-shim -id ID)
// in a user namespace that the monitor's user owns. Neither a child in the
// initial user namespace (a setuid program its user's monitor started) nor
// a child of a process named otherwise passes for it.
func TestMonitorChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a user namespace owned by the monitor's user in every case")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	const id = "31ad31249401f1accd5e898881f5006af3af7b757d11dd0387736b5f4172fa7b"
	for _, c := range []struct {
		argv0, flag, child string
		want               bool
	}{
		{"/usr/bin/conmon", "-c", "unshare -U sleep 100", true},
		{"/usr/bin/containerd-shim-runc-v2", "-id", "unshare -U sleep 100", true},
		{"/usr/bin/conmon", "-c", "sleep 100", false},            // the initial user namespace
		{"/usr/bin/conmon", "-n", "unshare -U sleep 100", false}, // not its ID
		{"/usr/bin/runc", "-c", "unshare -U sleep 100", false},   // not a monitor
	} {
		// sh -c SCRIPT $0 $1 $2: the monitor's command line ends "FLAG ID".
		cmd := exec.Command("/bin/sh")
		cmd.Args = []string{c.argv0, "-c", c.child + " & echo $!; wait", "monitor", c.flag, id}
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
		tg, err := pin(pid)
		if err != nil {
			t.Fatal(err)
		}
		if got := tg.monitorChild(id); got != c.want {
			t.Errorf("%s %s ID, child %q: monitorChild = %v", c.argv0, c.flag, c.child, got)
		}
		tg.close()
	}
}
