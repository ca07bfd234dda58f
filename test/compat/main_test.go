// Package compat tests the cnsenter binary against targets made with
// unshare(1): differentially against util-linux nsenter for the options both
// have, and by what the program sees (/proc/self/ns, status, cgroup, id, pwd)
// for the rest. It needs root; without root every test skips.
package compat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/binaries"
)

var (
	cnsenter string               // the binary under test
	nsenter  = "/usr/bin/nsenter" // util-linux, the reference
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run() // every test skips with its reason
	}
	// CNSENTER_BIN tests an installed or prebuilt binary instead.
	if cnsenter = os.Getenv("CNSENTER_BIN"); cnsenter != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "cnsenter-compat-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // unprivileged callers run it too
	if err := binaries.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "compat: building:", err)
		return 1
	}
	cnsenter = filepath.Join(dir, "cnsenter")
	return m.Run()
}

// copyOf copies the binary under test to DIR/cnsenter, with mode.
func copyOf(t *testing.T, dir string, mode os.FileMode) string {
	t.Helper()
	bin := filepath.Join(dir, "cnsenter")
	data, err := os.ReadFile(cnsenter)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, mode); err != nil { // WriteFile sets no set-user-ID bit
		t.Fatal(err)
	}
	return bin
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: entering namespaces and making targets with unshare")
	}
}

// target is a process to enter, made by a command that prints "ready" on
// stdout once the process is set up.
type target struct {
	PID int // the process to enter
	cmd *exec.Cmd
}

// startTarget runs argv. With forks set, argv forks the target (unshare
// --fork), and the target is its only child; else argv is the target.
func startTarget(t *testing.T, forks bool, argv ...string) *target {
	t.Helper()
	requireRoot(t)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting target %q: %v", argv, err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("target said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("target %q did not get ready: %v", argv, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("target %q did not get ready in time", argv)
	}
	tg := &target{PID: cmd.Process.Pid, cmd: cmd}
	if forks {
		kids := children(cmd.Process.Pid)
		if len(kids) != 1 {
			t.Fatalf("target %q: expected one child, found %v", argv, kids)
		}
		tg.PID = kids[0]
	}
	return tg
}

func (tg *target) T() string { return strconv.Itoa(tg.PID) }

// children lists a process's children.
func children(pid int) []int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		n, _ := strconv.Atoi(f)
		pids = append(pids, n)
	}
	return pids
}

// ready is the end of every target script: say so, then wait to be entered.
const ready = "echo ready; exec sleep 100000"

// fullTarget has a namespace of its own of every kind but user.
func fullTarget(t *testing.T) *target {
	return startTarget(t, true, "unshare", "--fork", "--pid", "--mount-proc", "--uts", "--ipc", "--net",
		"--mount", "--time", "--cgroup", "--kill-child", "sh", "-c", "hostname full-target; cd /tmp; "+ready)
}

// userTarget adds a user namespace that maps root to root.
func userTarget(t *testing.T) *target {
	return startTarget(t, true, "unshare", "--user", "--map-root-user", "--fork", "--pid", "--mount-proc",
		"--uts", "--ipc", "--net", "--mount", "--time", "--cgroup", "--kill-child",
		"sh", "-c", "hostname user-target; "+ready)
}

// unprivilegedTarget is in a user namespace owned by uid 1000, which
// mapping maps (--map-root-user or --map-current-user).
func unprivilegedTarget(t *testing.T, mapping string) *target {
	return startTarget(t, true, "setpriv", "--reuid=1000", "--regid=1000", "--clear-groups",
		"unshare", "--user", mapping, "--net", "--uts", "--ipc", "--mount", "--fork", "--kill-child",
		"sh", "-c", "hostname unpriv-target 2>/dev/null; "+ready)
}

// result is how a run ended.
type result struct {
	stdout, stderr string
	code           int            // exit status, or -1 when killed by a signal
	signal         syscall.Signal // the signal, when killed by one
}

func (r result) String() string {
	return fmt.Sprintf("exit %d signal %d\nstdout: %q\nstderr: %q", r.code, r.signal, r.stdout, r.stderr)
}

// runWith runs a binary with the given stdin and extra environment.
func runWith(t *testing.T, stdin string, env []string, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), env...)
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish in time", bin, args)
	}
	r := result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.signal = ws.Signal()
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return r
}

func run(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runWith(t, "", nil, bin, args...)
}

// same runs cnsenter and nsenter on one command line and wants the same
// stdout and the same exit.
func same(t *testing.T, args ...string) result {
	t.Helper()
	return sameAs(t, "", nil, nil, args...)
}

// sameAs is same with stdin, environment and a wrapper command (setpriv).
func sameAs(t *testing.T, stdin string, env, wrapper []string, args ...string) result {
	t.Helper()
	runOne := func(bin string) result {
		argv := append(append(append([]string{}, wrapper...), bin), args...)
		return runWith(t, stdin, env, argv[0], argv[1:]...)
	}
	got, want := runOne(cnsenter), runOne(nsenter)
	if got.stdout != want.stdout || got.code != want.code || got.signal != want.signal {
		t.Errorf("cnsenter %q differs from nsenter\ncnsenter: %v\nnsenter:  %v", args, got, want)
	}
	return got
}

// nsLink is what /proc/PID/ns/KIND points to.
func nsLink(t *testing.T, pid int, kind string) string {
	t.Helper()
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// oneLineError checks the contract for bad input: exit 1 and one line on
// stderr, ours, that contains want.
func oneLineError(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("want exit 1, got %v", r)
	}
	if !strings.HasPrefix(r.stderr, "cnsenter: ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("want one line starting with 'cnsenter: ', got %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("want the error to say %q, got %q", want, r.stderr)
	}
}
