package k8s

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's master and its slave of the given
// size.
func openPTY(t *testing.T, rows, cols uint16) (*os.File, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// ptyRun runs kubectl nsenter on a terminal of its own, typing keys (if
// any) once the text wait appears; returns what the terminal showed.
func ptyRun(t *testing.T, keys, wait string, args ...string) (string, int) {
	t.Helper()
	m, s := openPTY(t, 37, 101)
	cmd := nsenterCmd(adminKubeconfig(), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	seen := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		once := sync.Once{}
		for {
			n, err := m.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			if wait != "" && strings.Contains(out.String(), wait) {
				once.Do(func() { close(seen) })
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if keys != "" {
		select {
		case <-seen:
			m.Write([]byte(keys))
		case <-done: // ended without showing it: the caller's check fails
		}
	}
	err := cmd.Wait()
	<-done // EIO once the last holder of the slave is gone
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("terminal showed %q, exit %d", out.String(), code)
	return out.String(), code
}

// -t: the program has a terminal of the caller's size; Ctrl-C typed goes
// to the program (as with kubectl exec -t), which dies of it, and the
// helper pod goes.
func TestTTY(t *testing.T) {
	need(t)
	pod(t, "default", "tty", busybox("app", "x"))
	out, code := ptyRun(t, "", "", "-t", "tty", "--", "sh", "-c", "stty size; test -t 0 && echo is-a-tty")
	if code != 0 || !strings.Contains(out, "37 101") || !strings.Contains(out, "is-a-tty") {
		t.Errorf("-t: exit %d, terminal %q; want 37 101 and a terminal", code, out)
	}
	out, code = ptyRun(t, "\x03", "ready", "-t", "tty", "--", "sh", "-c", "echo ready; exec sleep 600")
	if code != 130 {
		t.Errorf("Ctrl-C in the session: exit %d, want 130 (terminal %q)", code, out)
	}
	noHelpers(t)
}
