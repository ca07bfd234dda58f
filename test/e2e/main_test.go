// Package e2e tests the built binaries against a real Docker Engine and a
// real containerd, started on private sockets by test/engines.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/binaries"
	"github.com/cnsenter/cnsenter/test/engines"
)

var (
	bin string           // directory of the binaries under test
	eng *engines.Engines // the running engines

	// seccompCache is where the sessions of these tests cache compiled
	// seccomp filters, instead of the host's /run/cnsenter/seccomp.
	seccompCache string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Println("e2e: not root: every test skips")
		return m.Run()
	}
	// CNSENTER_BIN_DIR tests prebuilt binaries (make integration).
	if bin = os.Getenv("CNSENTER_BIN_DIR"); bin == "" {
		dir, err := os.MkdirTemp("", "cnsenter-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755)
		if err := binaries.Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building:", err)
			return 1
		}
		bin = dir
	}
	cache, err := os.MkdirTemp("", "cnsenter-e2e-cache-") // root's, 0700
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(cache)
	seccompCache = filepath.Join(cache, "seccomp")
	os.Setenv("CNSENTER_SECCOMP_CACHE", seccompCache)
	start := time.Now()
	if eng, err = engines.Start(); err != nil {
		generation, _ := engines.Generation()
		fmt.Fprintf(os.Stderr, "e2e: starting the %s engines: %v\n", generation, err)
		return 1
	}
	defer func() {
		if err := eng.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping the engines:", err)
		}
	}()
	// Which engines a failure happened on: the first line of the output.
	fmt.Printf("e2e: %s\n", eng.Versions())
	if err := fixtures(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: fixtures:", err)
		return 1
	}
	fmt.Printf("e2e: engines and fixtures ready in %s\n", time.Since(start).Round(time.Millisecond))
	return m.Run()
}

// fixtures are the containers the tests enter.
func fixtures() error {
	for _, args := range [][]string{
		{"run", "-d", "--name", "web", "--hostname", "webhost", "-e", "FOO=bar", "-w", "/tmp", engines.BusyboxImage, "sleep", "100000"},
		{"run", "-d", "--name", "webuser", "--user", "1234:2345", "--group-add", "extra", "--group-add", "4567", engines.BusyboxImage, "sleep", "100000"},
		{"run", "-d", "--name", "dup", engines.BusyboxImage, "sleep", "100000"},
		{"run", "-d", "--name", "noshell", engines.NoShellImage, "/busybox", "sleep", "100000"},
		{"create", "--name", "created", engines.BusyboxImage, "sleep", "1"},
		{"run", "--name", "exited", engines.BusyboxImage, "true"},
	} {
		if _, err := eng.Docker(args...); err != nil {
			return err
		}
	}
	for _, id := range []string{"task1", "dup"} {
		if err := eng.RunTask(id, "/bin/sleep", "100000"); err != nil {
			return err
		}
	}
	return nil
}

// ownEngines starts engines of the test's own, for a test that stops or
// kills them (the others' must stay up). The caller defers their Stop:
// a cleanup of its own may have to come after it (t.Cleanup runs after
// defers).
func ownEngines(t *testing.T) *engines.Engines {
	t.Helper()
	requireEngines(t)
	e, err := engines.Start()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func requireEngines(t *testing.T) {
	t.Helper()
	if eng == nil {
		t.Skip("needs root to start the engines and enter containers")
	}
}

// result is how a run ended.
type result struct {
	stdout, stderr string
	code           int
	peakKiB        int64 // the peak resident set of it and of what it waited for (wait4's ru_maxrss, which an exec keeps)
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %q\nstderr: %q", r.code, r.stdout, r.stderr)
}

// cnsenter runs the binary pointed at the test engines through their
// environment variables, plus env.
func cnsenter(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runBinary(t, append(eng.Env(), env...), filepath.Join(bin, "cnsenter"), args...)
}

func runBinary(t *testing.T, env []string, path string, args ...string) result {
	t.Helper()
	return runStdin(t, nil, env, path, args...)
}

// runStdin runs a program with stdin (nil: /dev/null; an *os.File is
// given as it is).
func runStdin(t *testing.T, stdin io.Reader, env []string, path string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish in time", path, args)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), peakKiB: cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss}
}

// oneLineError: exit 1, one line of ours on stderr that says want.
func oneLineError(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 1 || !strings.HasPrefix(r.stderr, "cnsenter: ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("want exit 1 and one line saying %q, got %v", want, r)
	}
}

func dockerInspect(t *testing.T, name, format string) string {
	t.Helper()
	out, err := eng.Docker("inspect", "-f", format, name)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// taskPID is the PID of a task of the tests' containerd namespace.
func taskPID(t *testing.T, id string) string {
	t.Helper()
	out, err := eng.Ctr("-n", engines.Namespace, "tasks", "ls")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == id {
			return f[1]
		}
	}
	t.Fatalf("no task %s in %q", id, out)
	return ""
}

func nsLink(t *testing.T, pid, kind string) string {
	t.Helper()
	link, err := os.Readlink("/proc/" + pid + "/ns/" + kind)
	if err != nil {
		t.Fatal(err)
	}
	return link
}
