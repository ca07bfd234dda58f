package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// injected is what the attacker (testdata/attacker) tries to type into the
// caller's terminal.
const injected = "INJECTED-by-the-container"

// terminal is a pseudo-terminal the test owns, playing the caller's: what
// is written to it shows on the master; what would be typed into it (and
// what TIOCSTI pushes) waits in its input queue, read on the slave.
type terminal struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer
	copied        chan struct{}
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		t.Fatal(errno)
	}
	term := &terminal{master: master, slave: os.NewFile(fd, "pts"), copied: make(chan struct{})}
	// Not canonical: what is pushed is readable at once, without a newline.
	tio, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ICANON
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 0, 0
	unix.IoctlSetTermios(int(fd), unix.TCSETS, tio)
	unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				close(term.copied)
				return
			}
		}
	}()
	t.Cleanup(func() { term.slave.Close(); master.Close(); <-term.copied })
	return term
}

// output is what was written to the terminal so far.
func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return strings.ReplaceAll(term.out.String(), "\r", "")
}

// input is what waits in the terminal's input queue, as a shell reading
// it would get it.
func (term *terminal) input() string {
	var in []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(int(term.slave.Fd()), buf) // VMIN 0: never blocks
		if n <= 0 || err != nil {
			return string(in)
		}
		in = append(in, buf[:n]...)
	}
}

// waitFor waits until the terminal shows s.
func (term *terminal) waitFor(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(term.output(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q: %q", s, term.output())
		}
	}
}

// start runs a shell command line whose controlling terminal, stdin,
// stdout and stderr are the test's terminal, as in a caller's shell.
func (term *terminal) start(t *testing.T, env []string, line string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term.slave, term.slave, term.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// runOn runs a command line on a new terminal of the test's until it ends,
// and gives what the terminal showed and what was pushed into its input.
func runOn(t *testing.T, env []string, line string) (output, input string) {
	t.Helper()
	term := newTerminal(t)
	cmd := term.start(t, env, line)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: still running after 60s: %q", line, term.output())
	}
	time.Sleep(100 * time.Millisecond) // the master's last bytes
	return term.output(), term.input()
}

// TestNoKeystrokesIntoOurTerminal: a container's program that pushes a
// command line into every terminal it can reach (TIOCSTI and TIOCLINUX on
// 0, 1, 2 and /dev/tty) gets none of ours into its hands, whichever of our
// descriptors is a terminal, whether or not any is: its output is relayed,
// and it never has our controlling terminal. A PID target keeps
// util-linux's way (our descriptors, our terminal): there the attack
// arrives, which shows the test sees it when it happens.
func TestNoKeystrokesIntoOurTerminal(t *testing.T) {
	name := hostileContainer(t, "attacker", "attacker")
	d := newDockerCLI(t)
	env := append(append([]string{}, d.env...), eng.Env()...)
	cns := filepath.Join(bin, "cnsenter")
	dn := "docker -H " + eng.DockerHost + " nsenter"
	for _, c := range []struct {
		line string
		// The program has a pseudo-terminal of its own, whose echo of what
		// it pushed into it we relay: only our input queue tells.
		ownTerminal bool
	}{
		// Output on our terminal, stdin not.
		{dn + " " + name + " /attacker </dev/null; echo status=$?", false},
		{cns + " -t docker://" + name + " -a /attacker </dev/null; echo status=$?", false},
		// Stdin on our terminal, and everything.
		{dn + " -i " + name + " /attacker; echo status=$?", false},
		{dn + " -it " + name + " /attacker; echo status=$?", true},
		{dn + " -t " + name + " /attacker </dev/null; echo status=$?", true},
		{cns + " -t docker://" + name + " -a /attacker; echo status=$?", true},
		// Nothing on our terminal, which is still our controlling one
		// (/dev/tty): executed in our place, and, as the session's
		// leader (exec), relayed.
		{dn + " " + name + " /attacker </dev/null >/dev/null 2>&1; echo status=$?", false},
		{cns + " -t docker://" + name + " -a /attacker </dev/null >/dev/null 2>&1; echo status=$?", false},
		{"exec " + cns + " -t docker://" + name + " -a /attacker </dev/null >/dev/null 2>/dev/null", false},
	} {
		// Our terminal echoes what is pushed into it: where we relay our
		// stdin (-i), that is what shows it.
		out, in := runOn(t, env, c.line)
		if strings.Contains(in, injected) || !c.ownTerminal && strings.Contains(out, injected) {
			t.Errorf("%s: the container typed into our terminal: shown %q, input %q", c.line, out, in)
		} else if strings.Contains(c.line, "status") && !strings.Contains(out, "status=0") {
			t.Errorf("%s: want status 0, the terminal shows %q", c.line, out)
		}
	}
	pid := dockerInspect(t, name, "{{.State.Pid}}")
	if out, in := runOn(t, env, cns+" -t "+pid+" -a /attacker </dev/null; echo status=$?"); !strings.Contains(in, "echo "+injected) {
		t.Errorf("-t PID, as util-linux, gives the program our terminal: want the attack to arrive (so that this test sees it), got input %q, shown %q", in, out)
	}
}

// TestNoHostFileInTheContainer: output to a file of ours (>>) reaches the
// program through a pipe we relay: neither the program nor another process
// of the container (with the session confined, it may look at the
// program's /proc/PID/fd) can reopen the file to read or truncate it.
func TestNoHostFileInTheContainer(t *testing.T) {
	d := newDockerCLI(t)
	const secret = "HOST-SECRET\n"
	file := filepath.Join(t.TempDir(), "out.log")
	dn := "docker -H " + eng.DockerHost + " nsenter"
	cns := filepath.Join(bin, "cnsenter")
	for _, command := range []string{dn + " web", cns + " -t docker://web -a"} {
		os.WriteFile(file, []byte(secret), 0o600)
		sh := exec.Command("sh", "-c", command+` sh -c 'readlink /proc/self/fd/1; : > /proc/self/fd/1; echo status=$?' >>`+file+`; echo exit=$?`)
		sh.Env = append(append(os.Environ(), d.env...), eng.Env()...)
		sh.Stdin = nil
		out, err := sh.CombinedOutput()
		data, _ := os.ReadFile(file)
		if err != nil || string(out) != "exit=0\n" || !strings.HasPrefix(string(data), secret+"pipe:[") || !strings.HasSuffix(string(data), "]\nstatus=0\n") {
			t.Errorf("%s: want the program's output after ours in the file, its fd 1 a pipe; got %q, file %q, %v", command, out, data, err)
		}
	}
	// Another process of the container, looking at a confined session.
	os.WriteFile(file, []byte(secret), 0o600)
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eng.Docker("exec", "web", "rm", "-f", "/tmp/session.pid")
	session := exec.Command("docker", "-H", eng.DockerHost, "nsenter", "--confine", "web", "sh", "-c", "echo $$ > /tmp/session.pid.new; mv /tmp/session.pid.new /tmp/session.pid; sleep 3")
	session.Env = append(os.Environ(), d.env...)
	session.Stdout = f
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	defer session.Wait()
	defer session.Process.Kill()
	probe, err := eng.Docker("exec", "web", "sh", "-c", `while [ ! -e /tmp/session.pid ]; do sleep 0.05; done; p=$(cat /tmp/session.pid)
		readlink /proc/$p/fd/1; timeout 1 head -c 11 /proc/$p/fd/1; : > /proc/$p/fd/1; echo truncated=$?`)
	if err := session.Wait(); err != nil {
		t.Errorf("the session: %v", err)
	}
	data, _ := os.ReadFile(file)
	if !strings.HasPrefix(probe, "pipe:[") || strings.Contains(probe, "HOST-SECRET") || string(data) != secret {
		t.Errorf("a process of the container read or truncated our file: it saw %q (%v); the file holds %q", probe, err, data)
	}
}

// TestPluginStdioFlags: docker exec's -i, -t, -d and --detach-keys.
func TestPluginStdioFlags(t *testing.T) {
	d := newDockerCLI(t)
	// -i: our stdin; without, an empty one.
	if r := d.run(t, "piped\n", "nsenter", "-i", "web", "cat"); r.stdout != "piped\n" || r.code != 0 {
		t.Errorf("-i: %v", r)
	}
	if r := d.run(t, "piped\n", "nsenter", "web", "sh", "-c", "cat; readlink /proc/self/fd/0"); r.stdout != "/dev/null\n" || r.code != 0 {
		t.Errorf("without -i: want an empty stdin, got %v", r)
	}
	// -t without a terminal: a pseudo-terminal all the same, as docker
	// exec -t; -it needs one.
	if r := d.run(t, "", "nsenter", "-t", "web", "sh", "-c", "tty; exit 4"); !strings.HasPrefix(r.stdout, "/dev/pts/") || r.code != 4 {
		t.Errorf("-t: %v", r)
	}
	if r := d.run(t, "", "nsenter", "-it", "web", "true"); r.code != 1 || !strings.Contains(r.stderr, "the input device is not a TTY") {
		t.Errorf("-it without a terminal: %v", r)
	}
	if r := d.run(t, "", "nsenter", "--detach-keys", "ctrl-", "web", "true"); r.code != 125 || !strings.Contains(r.stderr, `--detach-keys: unknown key "ctrl-"`) {
		t.Errorf("bad --detach-keys: %v", r)
	}

	// -d: back at once, the program runs on, with none of ours.
	eng.Docker("exec", "web", "rm", "-f", "/tmp/detached")
	start := time.Now()
	r := d.run(t, "", "nsenter", "-d", "web", "sh", "-c", "sleep 1; (readlink /proc/self/fd/0; readlink /proc/self/fd/2) > /tmp/detached.new; mv /tmp/detached.new /tmp/detached")
	if took := time.Since(start); r.code != 0 || r.stdout != "" || took > 900*time.Millisecond {
		t.Errorf("-d: want exit 0 at once, got %v after %v", r, took)
	}
	var out string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if out, _ = eng.Docker("exec", "web", "cat", "/tmp/detached"); out != "" {
			break
		}
	}
	if out != "/dev/null\n/dev/null" && out != "/dev/null\n/dev/null\n" {
		t.Errorf("-d: the program did not run on with /dev/null: %q", out)
	}

	// -it: a round trip through our terminal, raw for the session, and
	// our modes restored.
	term := newTerminal(t)
	before, _ := unix.IoctlGetTermios(int(term.slave.Fd()), unix.TCGETS)
	cmd := term.start(t, d.env, "docker -H "+eng.DockerHost+" nsenter -it web sh -c 'echo ready; read x; echo got:$x; exit 5'; echo status=$?")
	term.waitFor(t, "ready")
	term.master.Write([]byte("hello\r"))
	term.waitFor(t, "status=")
	cmd.Wait()
	after, _ := unix.IoctlGetTermios(int(term.slave.Fd()), unix.TCGETS)
	if out := term.output(); !strings.Contains(out, "got:hello\n") || !strings.Contains(out, "status=5") || *before != *after {
		t.Errorf("-it: want the line back, status 5 and our modes: %q (modes %v, then %v)", out, before, after)
	}

	// The detach keys, docker's and others: docker nsenter returns 0, the
	// program runs on (its terminal kept), and a near miss is typed on.
	for i, c := range []struct{ flags, keys string }{{"", "\x10\x11"}, {"--detach-keys=ctrl-x,x", "\x18x"}} {
		marker := fmt.Sprint(424240 + i)
		term := newTerminal(t)
		cmd := term.start(t, d.env, "docker -H "+eng.DockerHost+" nsenter -it "+c.flags+" web sh -c 'echo ready; read x; echo got:$x; exec sleep "+marker+"'; echo status=$?")
		term.waitFor(t, "ready")
		term.master.Write([]byte(c.keys[:1] + "a\r"))
		term.waitFor(t, "got:")
		term.master.Write([]byte(c.keys))
		term.waitFor(t, "status=")
		cmd.Wait()
		running := false
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline"); string(cmdline) == "sleep\x00"+marker+"\x00" {
				running = true
				pid := 0
				fmt.Sscan(e.Name(), &pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if out := term.output(); !strings.Contains(out, "got:"+c.keys[:1]+"a") || !strings.Contains(out, "status=0") || !running {
			t.Errorf("%q: want the near miss typed on, status 0 and the program running on (%v): %q", c.flags, running, out)
		}
	}
}

// TestRelayedExitCodes: a session whose output we relay ends as one whose
// output is passed on: docker exec's codes, cnsenter's status or signal.
func TestRelayedExitCodes(t *testing.T) {
	d := newDockerCLI(t)
	file := filepath.Join(t.TempDir(), "out")
	for _, c := range []struct {
		command string
		want    string
	}{
		{"docker -H " + eng.DockerHost + " nsenter web sh -c 'exit 7'", "7"},
		{"docker -H " + eng.DockerHost + " nsenter web sh -c 'kill -9 $$'", "137"},
		{"docker -H " + eng.DockerHost + " nsenter web no-such-program", "127"},
		{filepath.Join(bin, "cnsenter") + " -t docker://web -a sh -c 'exit 7'", "7"},
		{filepath.Join(bin, "cnsenter") + " -t docker://web -a sh -c 'kill -9 $$'", "137"}, // the shell's 128+9 for our death by it
	} {
		for _, redirect := range []string{">" + file, "| cat"} {
			sh := exec.Command("sh", "-c", c.command+" "+redirect+"; echo $?")
			if redirect == "| cat" {
				sh = exec.Command("bash", "-c", "set -o pipefail; "+c.command+" "+redirect+"; echo $?")
			}
			sh.Env = append(append(os.Environ(), d.env...), eng.Env()...)
			out, _ := sh.Output()
			if got := strings.TrimSpace(string(out)); got != c.want {
				t.Errorf("%s %s: want %s, got %q", c.command, redirect, c.want, got)
			}
		}
	}
}
