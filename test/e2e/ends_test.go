package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSessionEnds: cnsenter relaying a terminal gets SIGTERM or SIGHUP (the
// terminal went away): the program gets it too, cnsenter ends as it did,
// our terminal's modes are restored, and no process is left.
func TestSessionEnds(t *testing.T) {
	requireEngines(t)
	cns := filepath.Join(bin, "cnsenter")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			// The program reports the signal and exits 9; script prints
			// our modes before and after.
			program := fmt.Sprintf(`trap "echo got it; exit 9" %d; echo ready; while :; do sleep 0.05; done`, sig)
			inner := fmt.Sprintf("stty -g; %s -t docker://web -a sh -c '%s'; echo status=$?; stty -g", cns, program)
			cmd := exec.Command("script", "-qec", inner, "/dev/null")
			cmd.Env = append(os.Environ(), eng.Env()...)
			stdin, hold, _ := os.Pipe()
			defer hold.Close()
			cmd.Stdin = stdin
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewReader(out)
			var seen []string
			for !strings.Contains(strings.Join(seen, ""), "ready") {
				l, err := lines.ReadString('\n')
				if err != nil {
					t.Fatalf("no ready: %q %v", seen, err)
				}
				seen = append(seen, strings.TrimSpace(l))
			}
			defer cmd.Process.Kill()
			// The relaying cnsenter is the Go side (the front execs it for a
			// container); the stage 2 below it is cnsenter-enter.
			running := processesOf(filepath.Join(bin, "cnsenter-go"))
			if len(running) != 1 {
				t.Fatalf("want one relaying cnsenter-go, found %v", running)
			}
			relaying := running[0]
			syscall.Kill(relaying, sig)
			restBytes, _ := io.ReadAll(lines)
			rest := string(restBytes)
			cmd.Wait()
			all := append(seen, strings.Fields(strings.ReplaceAll(rest, "\r", ""))...)
			if !slices.Contains(all, "got") || !slices.Contains(all, "status=9") || all[0] != all[len(all)-1] {
				t.Errorf("want the program to get %v and exit 9, and our modes back: %q", sig, all)
			}
			time.Sleep(100 * time.Millisecond)
			noneLeft(t)
		})
	}
}

// TestKilledHostToolsSession: a host-tools session whose cnsenter is
// killed (SIGKILL, which nothing can pass on) ends with it: the program is
// gone, so is its private mount namespace, and the host's mount table is
// what it was.
func TestKilledHostToolsSession(t *testing.T) {
	requireEngines(t)
	mounts, _ := readFile("/proc/self/mountinfo")
	cmd := exec.Command(filepath.Join(bin, "cnsenter"), "-t", "docker://web", "--host-tools", "-p", "-n", "sleep", "1000")
	cmd.Env = append(os.Environ(), eng.Env()...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var program int
	for deadline := time.Now().Add(10 * time.Second); program == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		fmt.Sscan(string(data), &program)
	}
	if program == 0 {
		t.Fatal("the program did not start")
	}
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", program))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program outlived cnsenter")
		}
	}
	if now, _ := readFile("/proc/self/mountinfo"); now != mounts {
		t.Errorf("the host's mount table changed")
	}
}
