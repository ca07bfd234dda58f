package compat

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWaitingParentForwardsSignals: a signal sent to cnsenter while it waits
// for a program in a PID namespace reaches the program.
func TestWaitingParentForwardsSignals(t *testing.T) {
	tg := fullTarget(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH} {
		name := strings.TrimPrefix(signalName(sig), "SIG")
		t.Run(name, func(t *testing.T) {
			script := fmt.Sprintf(`trap "echo got %s; exit 5" %s; echo ready; while :; do sleep 0.05; done`, name, name)
			cmd := exec.Command(cnsenter, "-t", tg.T(), "-p", "sh", "-c", script)
			out, _ := cmd.StdoutPipe()
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := bufio.NewReader(out)
			if line, _ := lines.ReadString('\n'); line != "ready\n" {
				t.Fatalf("program did not start: %q", line)
			}
			program := children(cmd.Process.Pid)
			cmd.Process.Signal(sig)
			got, _ := lines.ReadString('\n')
			cmd.Wait()
			if got != "got "+name+"\n" || cmd.ProcessState.ExitCode() != 5 {
				t.Errorf("want the program to get %s and exit 5, got %q, %v", name, got, cmd.ProcessState)
			}
			for _, pid := range program {
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
					t.Errorf("program %d is still there (zombie or orphan) after cnsenter exited", pid)
				}
			}
		})
	}
}

// TestProgramDiesWithWaitingParent: killing cnsenter (SIGKILL cannot be
// forwarded) leaves no orphan behind.
func TestProgramDiesWithWaitingParent(t *testing.T) {
	tg := fullTarget(t)
	s := startSession(t, "-t", tg.T(), "-p", "sleep", "1000")
	s.cmd.Process.Kill()
	s.cmd.Wait()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.program))
		// Gone, or a zombie waiting for the PID namespace's init to reap it.
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("program %d outlived its waiting parent: %s", s.program, stat)
		}
	}
}

func signalName(sig syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP",
		syscall.SIGQUIT: "SIGQUIT", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGWINCH: "SIGWINCH"}[sig]
}

// TestIgnoredSignalsPassedOn: the program starts with the signals ignored
// that cnsenter was started with ignored, as nsenter's does, whichever
// path enters: the C front by itself, or cnsenter-go (which the front tells,
// since a Go program cannot see them), forking or not. The variable that
// carries them never reaches the program.
func TestIgnoredSignalsPassedOn(t *testing.T) {
	tg := fullTarget(t)
	ignoring := []string{"sh", "-c", `trap '' TERM USR1 PIPE 64; exec "$@"`, "sh"} // 64: the last, SIGRTMAX
	script := "grep SigIgn /proc/self/status; env | grep -c CNSENTER_IGNORED; true"
	for _, args := range [][]string{
		{"-t", tg.T(), "-n"},       // the front
		{"-t", tg.T(), "-p"},       // the front, forking
		{"-t", tg.T(), "-n", "-w"}, // cnsenter-go
		{"-t", tg.T(), "-p", "-w"}, // cnsenter-go, forking
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			r := sameAs(t, "", nil, ignoring, append(args, "sh", "-c", script)...)
			var mask uint64
			var leaked int
			fmt.Sscanf(r.stdout, "SigIgn:\t%x\n%d", &mask, &leaked)
			for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGPIPE, 64} {
				if mask&(1<<(sig-1)) == 0 {
					t.Errorf("signal %d is not ignored: %q", sig, r.stdout)
				}
			}
			if leaked != 0 {
				t.Errorf("the program sees CNSENTER_IGNORED_SIGNALS: %q", r.stdout)
			}
		})
	}
}
