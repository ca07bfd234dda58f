package enter

import (
	"bufio"
	"bytes"
	"fmt"
	"golang.org/x/sys/unix"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/binaries"
)

// TestMain builds stage 2 (cnsenter-enter) once, for every test and the
// helpers they start (which find it through ENTER_TEST_STAGE2). The test
// binary also plays cnsenter: with ENTER_TEST_HELPER=pinned it prepares an
// entry into the target's network namespace, says "prepared", waits for a
// line on stdin, then execs.
func TestMain(m *testing.M) {
	Stage2 = os.Getenv("ENTER_TEST_STAGE2")
	if os.Getenv("ENTER_TEST_HELPER") == "pinned" {
		pinnedHelper()
	}
	if Stage2 == "" {
		dir, err := os.MkdirTemp("", "enter-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		Stage2 = filepath.Join(dir, stage2Name)
		if err := binaries.Stage2(dir); err != nil {
			fmt.Fprintln(os.Stderr, "building cnsenter-enter:", err)
			os.RemoveAll(dir)
			os.Exit(2)
		}
		os.Setenv("ENTER_TEST_STAGE2", Stage2)
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func pinnedHelper() {
	pid, _ := strconv.Atoi(os.Getenv("ENTER_TEST_TARGET"))
	p, err := Prepare(Request{Target: pid, Namespaces: map[Kind]string{Net: ""}, Program: []string{"readlink", "/proc/self/ns/net"}})
	if err != nil {
		fmt.Println("prepare:", err)
		os.Exit(2)
	}
	fmt.Println("prepared")
	bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Println(p.Exec())
	os.Exit(3)
}

// TestTargetExitsDuringEntry kills the target between preparation and entry
// and tries to hand its PID to a process in another network namespace: the
// entry must fail, or (without pidfd setns) enter the namespace the original
// target had, never the newcomer's.
func TestTargetExitsDuringEntry(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to enter namespaces and to choose the next PID")
	}
	ours, _ := os.Readlink("/proc/self/ns/net")
	for _, viaProc := range []bool{false, true} {
		t.Run(fmt.Sprintf("without pidfd setns=%v", viaProc), func(t *testing.T) {
			target := exec.Command("sleep", "1000")
			if err := target.Start(); err != nil {
				t.Fatal(err)
			}
			pid := target.Process.Pid
			helper := exec.Command(os.Args[0], "-test.run=^$")
			helper.Env = append(os.Environ(), "ENTER_TEST_HELPER=pinned", "ENTER_TEST_TARGET="+strconv.Itoa(pid))
			if viaProc {
				helper.Env = append(helper.Env, "CNSENTER_NO_PIDFD_SETNS=1")
			}
			var stderr bytes.Buffer
			helper.Stderr = &stderr
			in, _ := helper.StdinPipe()
			out, _ := helper.StdoutPipe()
			if err := helper.Start(); err != nil {
				t.Fatal(err)
			}
			defer helper.Process.Kill()
			lines := bufio.NewReader(out)
			if line, _ := lines.ReadString('\n'); line != "prepared\n" {
				t.Fatalf("helper: %q %s", line, stderr.String())
			}
			target.Process.Kill()
			target.Wait()

			newcomer, newcomerNet := takePID(t, pid)
			in.Write([]byte("go\n"))
			rest, _ := lines.ReadString(0)
			err := helper.Wait()
			t.Logf("PID %d reused by a process in %s: %v; the entry printed %q, said %q (%v)", pid, newcomerNet, newcomer, rest, stderr.String(), err)
			if newcomer && newcomerNet != "" && strings.Contains(rest, newcomerNet) {
				t.Fatalf("entered the process that took over PID %d", pid)
			}
			if viaProc {
				if strings.TrimSpace(rest) != ours {
					t.Errorf("want the original target's namespace %s, got %q (%s)", ours, rest, stderr.String())
				}
				return
			}
			if helper.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), fmt.Sprintf("process %d exited before its namespaces could be entered", pid)) {
				t.Errorf("want exit 1 saying the target exited, got %v: %q", err, stderr.String())
			}
		})
	}
}

// takePID tries to start a process in a new network namespace with the given
// PID, through ns_last_pid; it reports whether that worked.
func takePID(t *testing.T, pid int) (bool, string) {
	for try := 0; try < 20; try++ {
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); err != nil {
			t.Logf("cannot choose the next PID: %v", err)
			return false, ""
		}
		cmd := exec.Command("unshare", "--net", "sleep", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if cmd.Process.Pid != pid {
			cmd.Process.Kill()
			continue
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); link != "" {
				if ours, _ := os.Readlink("/proc/self/ns/net"); link != ours {
					return true, link
				}
			}
		}
		return true, ""
	}
	return false, ""
}

// TestContainerNoLongerThere: a PID that the engine gave for a container
// but whose process is not in the container's cgroups (its init exited and
// the PID went to someone else) is refused.
func TestContainerNoLongerThere(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to enter namespaces")
	}
	other := exec.Command("sleep", "1000")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	_, err := Prepare(Request{Target: other.Process.Pid, Container: "docker://web", ContainerID: "0123456789abcdef", Namespaces: map[Kind]string{Net: ""}})
	if err == nil || !strings.Contains(err.Error(), "docker://web stopped while entering: process") {
		t.Errorf("want the container to be said gone, got %v", err)
	}
}

// TestPinnedProcessDir: what a caller reads through a pinned Process (the
// plugin's user lookup in the container's root, the relay's pseudo-terminal,
// the OCI spec's bundle through the init's parent) is that process's: once
// it has exited and its PID has gone to another process, reading through
// its Dir fails, never giving the newcomer's.
func TestPinnedProcessDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to choose the next PID")
	}
	target := exec.Command("sleep", "1000")
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	pid := target.Process.Pid
	proc, err := Pin(pid, "", "", Monitor{})
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Close()
	buf := make([]byte, 256)
	if _, err := unix.Readlinkat(proc.Dir(), "ns/net", buf); err != nil {
		t.Fatalf("reading through the pin of a live process: %v", err)
	}
	target.Process.Kill()
	target.Wait()
	newcomer, newcomerNet := takePID(t, pid)
	n, err := unix.Readlinkat(proc.Dir(), "ns/net", buf)
	t.Logf("PID %d reused by a process in %s: %v; read %q, %v", pid, newcomerNet, newcomer, buf[:max(n, 0)], err)
	if err == nil {
		t.Errorf("read %q through the pin of an exited process (the newcomer is in %s)", buf[:n], newcomerNet)
	}
	if fd, err := unix.Openat(proc.Dir(), "root", unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
		t.Errorf("opened the root of an exited process through its pin")
	}
	// And a container's PID must be its: Pin checks the cgroups too.
	if _, err := Pin(os.Getpid(), "docker://web", "0123456789abcdef", Monitor{}); err == nil || !strings.Contains(err.Error(), "stopped while entering") {
		t.Errorf("Pin of a process that is not the container's: %v", err)
	}
}
