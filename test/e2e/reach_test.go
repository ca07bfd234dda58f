package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// probeFrom runs the probe inside the container: as its root with Docker's
// default capabilities, or (uid >= 0) as that uid without capabilities.
func probeFrom(t *testing.T, container string, uid int, args ...string) map[string]string {
	t.Helper()
	argv := []string{"exec", container, "/probe", "-uid", fmt.Sprint(uid)}
	out, err := eng.Docker(append(argv, args...)...)
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	seen := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, " ")
		seen[k] = v
	}
	return seen
}

// hostSecret is a 0600 file of the host's, in a directory of its own, that
// no process of a container may read.
func hostSecret(t *testing.T) (path, content string) {
	dir, err := os.MkdirTemp("", "cnsenter-secret-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o700)
	content = fmt.Sprintf("HOST-SECRET-%d", time.Now().UnixNano())
	path = filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, content
}

// running is a command started in the background.
type running struct {
	cmd  *exec.Cmd
	out  *strings.Builder
	done chan struct{} // closed once it has ended
}

// background starts a command, in a process group of its
// own, and kills the group when the test ends.
func background(t *testing.T, dir string, env []string, path string, args ...string) *running {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), eng.Env()...), env...)
	r := &running{cmd: cmd, out: new(strings.Builder), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second // whatever still holds its output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	})
	return r
}

// exited tells whether the command ends within d, and how.
func (r *running) exited(d time.Duration) (bool, int) {
	select {
	case <-r.done:
		return true, r.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return false, 0
	}
}

// TestSessionOutOfContainersReach: whatever the user, capabilities and
// flags of a session, no process of the container reaches the host
// through the session's /proc/PID files. A session the container could
// reach (the same uid, no capability beyond the container's) that would
// hold the host's files or environment is refused before anything is
// entered; one it cannot reach (root with every capability) is probed from
// inside the container, as root with Docker's default capabilities and as
// the session's uid without any: nothing is open to it.
func TestSessionOutOfContainersReach(t *testing.T) {
	d := newDockerCLI(t)
	hostileContainer(t, "reach", "probe")
	secret, content := hostSecret(t)
	written := filepath.Join(filepath.Dir(secret), "written")
	marker := fmt.Sprintf("hostenv-%d", time.Now().UnixNano())
	for i, c := range []struct {
		name    string
		argv    []string // the session; "docker" runs the docker CLI with the plugin
		refused bool
		uids    []int // the probes' uids (-1: the container's root, default capabilities)
	}{
		{"host tools as root", []string{"docker", "nsenter", "-u", "0", "--host-tools", "reach"}, false, []int{-1, 0}},
		{"host tools confined", []string{"docker", "nsenter", "--confine", "--host-tools", "reach"}, true, []int{-1, 0}},
		{"host tools as another user", []string{"docker", "nsenter", "-u", "1000", "--host-tools", "reach"}, true, []int{-1, 1000}},
		{"net and pid, confined", []string{"docker", "nsenter", "--confine", "--ns", "net,pid", "reach"}, true, []int{-1, 0}},
		{"cnsenter net and pid as root", []string{"cnsenter", "-t", "docker://reach", "-n", "-p"}, false, []int{-1, 0}},
		{"cnsenter net and pid as 1000", []string{"cnsenter", "-t", "docker://reach", "-n", "-p", "-S", "1000", "-G", "1000"}, true, []int{-1, 1000}},
		{"cnsenter host tools as 1000", []string{"cnsenter", "-t", "docker://reach", "--host-tools", "-S", "1000", "-G", "1000"}, true, []int{-1, 1000}},
		{"cnsenter all as 1000, our environment", []string{"cnsenter", "-t", "docker://reach", "-a", "-S", "1000", "-G", "1000"}, true, []int{-1, 1000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			match := fmt.Sprintf("%d.%d", 7000+i, time.Now().UnixNano()%1000)
			var path string
			var args []string
			if c.argv[0] == "docker" {
				path, args = "docker", append(append([]string{"-H", eng.DockerHost}, c.argv[1:]...), "sleep", match)
			} else {
				path, args = filepath.Join(bin, "cnsenter"), append(c.argv[1:], "sleep", match)
			}
			s := background(t, filepath.Dir(secret), append(d.env, "CNSENTER_TEST_MARKER="+marker), path, args...)
			out := s.out
			if c.refused {
				// A refusal comes before anything is entered; an old
				// cnsenter would run on, and be probed below.
				if done, code := s.exited(15 * time.Second); done {
					if code != 1 || !strings.Contains(out.String(), "refusing to enter") || strings.Count(out.String(), "\n") != 1 {
						t.Errorf("want exit 1 and one line refusing, got exit %d: %q", code, out)
					}
					return
				}
				t.Errorf("the session was not refused: what the container's processes reach of it follows")
			}
			for _, uid := range c.uids {
				seen := probeFrom(t, "reach", uid, "-match", match, "-secret", secret, "-write", written, "-marker", marker)
				if seen["pid"] == "none" || seen["pid"] == "" {
					t.Fatalf("probe as uid %d: the session is not visible in the container: %v (%s)", uid, seen, out)
				}
				for k, v := range seen {
					if k == "pid" || k == "setup" {
						continue
					}
					if strings.HasPrefix(v, "ok") {
						t.Errorf("probe as uid %d: %s is open to the container: %s", uid, k, v)
					}
				}
				if strings.Contains(fmt.Sprint(seen), content) {
					t.Errorf("probe as uid %d read the host's secret", uid)
				}
				if _, err := os.Stat(written); err == nil {
					os.Remove(written)
					t.Errorf("probe as uid %d wrote a host file", uid)
				}
			}
		})
	}
}

// TestSessionInContainerReachable: a session the container can reach, as
// docker exec's processes are, holds nothing of the host: the container's
// root and working directory, the environment it was given, no host
// descriptor.
func TestSessionInContainerReachable(t *testing.T) {
	hostileContainer(t, "reachin", "probe")
	secret, content := hostSecret(t)
	marker := fmt.Sprintf("hostenv-%d", time.Now().UnixNano())
	match := fmt.Sprintf("8000.%d", time.Now().UnixNano()%1000)
	s := background(t, filepath.Dir(secret), []string{"CNSENTER_TEST_MARKER=" + marker}, filepath.Join(bin, "cnsenter"),
		"-t", "docker://reachin", "-a", "-e", "-S", "1000", "-G", "1000", "sleep", match)
	out := s.out
	seen := probeFrom(t, "reachin", 1000, "-match", match, "-secret", secret, "-marker", marker)
	if seen["pid"] == "none" {
		t.Fatalf("the session is not in the container: %s", out)
	}
	if !strings.HasPrefix(seen["environ"], "ok marker=false") {
		t.Errorf("the session's environment: %q (want readable, without our variables)", seen["environ"])
	}
	if strings.Contains(fmt.Sprint(seen), content) || !strings.HasPrefix(seen["root-read"], "denied") {
		t.Errorf("the host's secret through the session's root: %v", seen)
	}
	if seen["cwd"] != "ok /" {
		t.Errorf("the session's working directory is %q, not the container's /", seen["cwd"])
	}
	for k, v := range seen {
		if strings.HasPrefix(k, "fd/") && strings.HasPrefix(v, "ok") && !strings.Contains(v, "pipe:") && !strings.Contains(v, "/dev/null") {
			t.Errorf("the session holds %s %s, which is neither a pipe nor /dev/null", k, v)
		}
	}
}

// TestNoHostDescriptorBeforeExec: between entering the container's PID
// namespace and the exec of the program, stage 2 holds the plan's host
// descriptors (the /proc directory of the target, cgroup files, the audit
// log) while already running with the container's credentials. It is
// undumpable then: a process of the container that catches it there opens
// none of them. The test stops stage 2 right before the exec
// (CNSENTER_TEST_STOP_BEFORE_EXEC) to look at leisure.
func TestNoHostDescriptorBeforeExec(t *testing.T) {
	d := newDockerCLI(t)
	hostileContainer(t, "window", "probe")
	log := filepath.Join(t.TempDir(), "audit.log")
	for _, c := range []struct {
		name string
		path string
		args []string
	}{
		{"docker nsenter --confine", "docker", []string{"-H", eng.DockerHost, "nsenter", "--confine", "--audit-log", log, "window", "true"}},
		{"cnsenter -S 1000", filepath.Join(bin, "cnsenter"), []string{"-t", "docker://window", "-a", "-c", "-e", "-S", "1000", "-G", "1000", "--audit-log", log, "true"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := background(t, "/", append(d.env, "CNSENTER_TEST_STOP_BEFORE_EXEC=1"), c.path, c.args...)
			out := s.out
			for _, uid := range []int{-1, 1000} {
				seen := probeFrom(t, "window", uid, "-stopped")
				if seen["pid"] == "none" {
					t.Fatalf("no stopped stage 2 in the container (%s)", out)
				}
				fds := 0
				for k, v := range seen {
					if strings.HasPrefix(k, "fd") || k == "environ" || k == "mem" || k == "ptrace" || k == "cwd" {
						fds++
						if strings.HasPrefix(v, "ok") {
							t.Errorf("probe as uid %d: %s of the stopped stage 2 is open to the container: %s", uid, k, v)
						}
					}
				}
				if fds == 0 {
					t.Errorf("probe as uid %d tried nothing: %v", uid, seen)
				}
			}
			// Both stage 2 and its waiting parent, which stopped with it.
			for end := time.Now().Add(10 * time.Second); ; {
				syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT)
				if done, code := s.exited(time.Second); done {
					if code != 0 {
						t.Errorf("the session, continued, ended with %d: %s", code, out)
					}
					break
				}
				if time.Now().After(end) {
					t.Fatalf("the session did not end once continued: %s", out)
				}
			}
		})
	}
}
