package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/runtime/bundle"
	"github.com/cnsenter/cnsenter/runtime/containerd"
)

// dockerCLI runs the real docker CLI with docker-nsenter installed as a
// plugin in a DOCKER_CONFIG of the test's own.
type dockerCLI struct {
	config string
	env    []string
}

func newDockerCLI(t *testing.T) *dockerCLI {
	t.Helper()
	requireEngines(t)
	config := t.TempDir()
	plugins := filepath.Join(config, "cli-plugins")
	os.MkdirAll(plugins, 0o755)
	// A link, as a build tree's plugin is installed by hand: the plugin
	// finds its helpers (docker-nsenter-go, cnsenter-enter) beside the
	// binary it links to.
	if _, err := os.Stat(filepath.Join(bin, "docker-nsenter")); err != nil {
		t.Fatalf("docker-nsenter is not built: %v", err)
	}
	if err := os.Symlink(filepath.Join(bin, "docker-nsenter"), filepath.Join(plugins, "docker-nsenter")); err != nil {
		t.Fatal(err)
	}
	return &dockerCLI{config: config, env: []string{"DOCKER_CONFIG=" + config, "CONTAINERD_ADDRESS=" + eng.ContainerdAddress}}
}

// TestPluginFront: the plugin the docker CLI runs is the C front, which
// answers the CLI's metadata question itself, with the Go plugin's own
// answer, and hands the rest to docker-nsenter-go.
func TestPluginFront(t *testing.T) {
	requireEngines(t)
	front, err := exec.Command(filepath.Join(bin, "docker-nsenter"), "docker-cli-plugin-metadata").Output()
	if err != nil {
		t.Fatal(err)
	}
	goSide, err := exec.Command(filepath.Join(bin, "docker-nsenter-go"), "docker-cli-plugin-metadata").Output()
	if err != nil || string(front) != string(goSide) || !json.Valid(front) {
		t.Errorf("metadata: the front says %q, docker-nsenter-go %q (%v)", front, goSide, err)
	}
	// Which one answered: only the Go side starts threads.
	trace := filepath.Join(t.TempDir(), "trace")
	err = exec.Command("strace", "-f", "-qq", "-e", "trace=execve,clone,clone3", "-o", trace, filepath.Join(bin, "docker-nsenter"), "docker-cli-plugin-metadata").Run()
	out, _ := os.ReadFile(trace)
	if err != nil || len(out) == 0 || strings.Contains(string(out), " clone(") || strings.Contains(string(out), " clone3(") {
		t.Errorf("the metadata took a Go program (threads were started): %v\n%s", err, out)
	}
	d := newDockerCLI(t)
	if r := d.run(t, "", "nsenter", "web", "hostname"); r.code != 0 || r.stdout != "webhost\n" {
		t.Errorf("docker nsenter through the front: %v", r)
	}
}

// run runs `docker -H ENGINE ARGS` with stdin.
func (d *dockerCLI) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return d.runRaw(t, stdin, nil, append([]string{"-H", eng.DockerHost}, args...)...)
}

func (d *dockerCLI) runRaw(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(append(os.Environ(), d.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
}

func TestPluginProtocol(t *testing.T) {
	d := newDockerCLI(t)
	if r := d.runRaw(t, "", nil, "--help"); !strings.Contains(r.stdout, "nsenter*") {
		t.Errorf("docker --help does not list the plugin: %v", r)
	}
	for _, args := range [][]string{{"nsenter", "--help"}, {"help", "nsenter"}} {
		if r := d.runRaw(t, "", nil, args...); r.code != 0 || !strings.Contains(r.stdout, "docker nsenter [OPTIONS] CONTAINER [COMMAND] [ARG...]") {
			t.Errorf("docker %q: want the usage, got %v", args, r)
		}
	}
}

func TestPluginDefaults(t *testing.T) {
	d := newDockerCLI(t)
	pid := dockerInspect(t, "web", "{{.State.Pid}}")
	cgroups, _ := readFile("/proc/" + pid + "/cgroup")
	r := d.run(t, "", "nsenter", "web", "sh", "-c", "hostname; pwd; echo $FOO; id -u; id -g; cat /proc/self/cgroup")
	if want := "webhost\n/tmp\nbar\n0\n0\n" + cgroups; r.stdout != want || r.code != 0 {
		t.Errorf("defaults: want %q, got %v", want, r)
	}
	// No program: the container's /bin/sh, on our stdin (-i).
	if r := d.run(t, "echo hi $FOO; exit 3\n", "nsenter", "-i", "web"); r.stdout != "hi bar\n" || r.code != 3 {
		t.Errorf("no program: %v", r)
	}
	if r := d.run(t, "piped\n", "nsenter", "-i", "web", "cat"); r.stdout != "piped\n" {
		t.Errorf("stdin piped: %v", r)
	}
}

func TestPluginEndpoints(t *testing.T) {
	d := newDockerCLI(t)
	if _, err := exec.Command("docker", "--config", d.config, "context", "create", "testctx", "--docker", "host="+eng.DockerHost).CombinedOutput(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"-H", eng.DockerHost, "nsenter", "web", "hostname"}},
		{nil, []string{"--context", "testctx", "nsenter", "web", "hostname"}},
		{[]string{"DOCKER_HOST=" + eng.DockerHost}, []string{"nsenter", "web", "hostname"}},
		{[]string{"DOCKER_CONTEXT=testctx"}, []string{"nsenter", "web", "hostname"}},
	} {
		if r := d.runRaw(t, "", c.env, c.args...); r.stdout != "webhost\n" {
			t.Errorf("%v %q: %v", c.env, c.args, r)
		}
	}
	if r := d.runRaw(t, "", nil, "-H", "unix:///nonexistent/docker.sock", "nsenter", "web", "true"); r.code != 1 || !strings.Contains(r.stderr, "cannot reach Docker at unix:///nonexistent/docker.sock") {
		t.Errorf("a daemon that does not answer: %v", r)
	}
	if r := d.runRaw(t, "", nil, "-H", "tcp://127.0.0.1:1", "nsenter", "web", "true"); r.code != 1 || !strings.Contains(r.stderr, "is not a local unix socket") {
		t.Errorf("a tcp endpoint: %v", r)
	}
}

func TestPluginFlags(t *testing.T) {
	d := newDockerCLI(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-u", "web", "web", "id"}, "uid=1234(web) gid=2345(webgroup) groups=2345(webgroup),3456(extra)\n"},
		{[]string{"--user", "1234:3456", "web", "id", "-u"}, "1234\n"},
		{[]string{"-u", "web:extra", "web", "id", "-g"}, "3456\n"},
		{[]string{"-e", "A=1", "-e", "FOO=override", "web", "sh", "-c", "echo $A $FOO"}, "1 override\n"},
		{[]string{"-w", "/etc", "web", "pwd"}, "/etc\n"},
		{[]string{"--ns", "uts", "web", "hostname"}, "webhost\n"},
	} {
		if r := d.run(t, "", append([]string{"nsenter"}, c.args...)...); r.stdout != c.want {
			t.Errorf("%q: want %q, got %v", c.args, c.want, r)
		}
	}
	// --ns net: the container's network, the host's files and tools.
	pid := dockerInspect(t, "web", "{{.State.Pid}}")
	r := d.run(t, "", "nsenter", "--ns", "net", "web", "sh", "-c", "readlink /proc/self/ns/net; test -x /usr/bin/env && echo host files")
	if want := nsLink(t, pid, "net") + "\nhost files\n"; r.stdout != want {
		t.Errorf("--ns net: want %q, got %v", want, r)
	}
	// --no-cgroup: our cgroups, not the container's.
	own, _ := readFile("/proc/self/cgroup")
	if r := d.run(t, "", "nsenter", "--no-cgroup", "--ns", "uts", "web", "cat", "/proc/self/cgroup"); r.stdout != own {
		t.Errorf("--no-cgroup: want our cgroups %q, got %v", own, r)
	}
}

func TestPluginExitCodes(t *testing.T) {
	d := newDockerCLI(t)
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"web", "sh", "-c", "exit 7"}, 7, ""},
		{[]string{"web", "sh", "-c", "kill -9 $$"}, 137, ""},
		{[]string{"web", "no-such-program"}, 127, "the container has no such program (--host-tools runs the host's)"},
		{[]string{"noshell"}, 127, "failed to execute /bin/sh"},
		{[]string{"web", "/etc/passwd"}, 126, "Permission denied"},
		{[]string{"nope", "true"}, 1, "nope: no such container (see 'docker ps')"},
		{[]string{"created", "true"}, 1, "is not running (created): start it first"},
		{[]string{"--ns", "bogus", "web", "true"}, 1, `--ns: unknown namespace "bogus"`},
		{[]string{"-u", "nobody-here", "web", "true"}, 1, "unable to find user nobody-here"},
		{[]string{"--bogus-flag", "web"}, 125, "unknown flag: --bogus-flag"},
		{[]string{}, 125, "requires at least 1 arg"},
	} {
		r := d.run(t, "", append([]string{"nsenter"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%q: want exit %d saying %q, got %v", c.args, c.code, c.stderr, r)
		}
	}
}

// TestPluginTerminal runs docker nsenter under script(1), which gives it a
// terminal: the program gets a pseudo-terminal of its own with our window
// size, and our terminal's modes are the same afterwards.
func TestPluginTerminal(t *testing.T) {
	d := newDockerCLI(t)
	out := underScript(t, d.env, "stty -g; stty rows 33 cols 99; docker -H "+eng.DockerHost+" nsenter -it web sh -c 'tty; stty size'; stty -g")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "/dev/pts/") || lines[2] != "33 99" || lines[0] != lines[3] {
		t.Errorf("want our modes, a pty of its own, our size, our modes again; got %q", lines)
	}
}

// TestPluginDescriptors: the program starts with 0, 1 and 2 only, whatever
// the caller had open, and with a terminal it gets a pty of its own (not
// ours: TIOCSTI on it cannot reach us) with -t, else pipes.
func TestPluginDescriptors(t *testing.T) {
	d := newDockerCLI(t)
	// The plugin run as the CLI runs it, with descriptors the CLI might leak.
	cmd := exec.Command(filepath.Join(bin, "docker-nsenter"), "-H", eng.DockerHost, "nsenter", "web", "ls", "/proc/self/fd")
	cmd.Env = append(os.Environ(), d.env...)
	extra, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	cmd.ExtraFiles = []*os.File{extra, extra, extra} // 3, 4 and 5
	out, err := cmd.Output()
	// ls shows its own directory descriptor too.
	if fds := strings.Fields(string(out)); err != nil || !slices.Equal(fds, []string{"0", "1", "2", "3"}) {
		t.Errorf("want descriptors 0 1 2 (and ls's 3), got %q %v", out, err)
	}
	// cnsenter too, with a container; with a PID it passes ours on, as nsenter.
	pid := dockerInspect(t, "web", "{{.State.Pid}}")
	for target, passedOn := range map[string]bool{"docker://web": false, pid: true} {
		cmd := exec.Command(filepath.Join(bin, "cnsenter"), "-t", target, "-a", "ls", "/proc/self/fd")
		cmd.Env = append(os.Environ(), eng.Env()...)
		cmd.ExtraFiles = []*os.File{extra, extra, extra}
		out, err := cmd.Output()
		fds := strings.Fields(string(out))
		if err != nil || !passedOn && !slices.Equal(fds, []string{"0", "1", "2", "3"}) || passedOn && !(slices.Contains(fds, "4") && slices.Contains(fds, "5")) {
			t.Errorf("cnsenter -t %s: want our descriptors passed on: %v; got %q %v", target, passedOn, out, err)
		}
	}
	for flags, want := range map[string]string{"-it": "/dev/pts/", "-i": "pipe:", "": "/dev/null"} {
		lines := strings.Fields(underScript(t, d.env, "readlink /proc/self/fd/0; docker -H "+eng.DockerHost+" nsenter "+flags+" --ns uts web sh -c 'readlink /proc/self/fd/0; readlink /proc/self/fd/1' </dev/tty"))
		if len(lines) != 3 || lines[0] == lines[1] || lines[0] == lines[2] || !strings.HasPrefix(lines[1], want) {
			t.Errorf("%q: our terminal, then the program's stdin (want %s...) and stdout, never ours: %q", flags, want, lines)
		}
	}
}

// TestCnsenterTerminal: from a terminal, cnsenter gives a container's
// program a pseudo-terminal of its own; with a PID it
// keeps nsenter's behaviour, ours. Our modes are the same afterwards.
func TestCnsenterTerminal(t *testing.T) {
	requireEngines(t)
	pid := dockerInspect(t, "web", "{{.State.Pid}}")
	cns := filepath.Join(bin, "cnsenter")
	for _, c := range []struct {
		args string
		same bool
	}{
		{"-t docker://web -u", false},
		{"-t " + pid + " -u", true},
	} {
		lines := strings.Fields(underScript(t, eng.Env(), "stty -g; readlink /proc/self/fd/0; "+cns+" "+c.args+" readlink /proc/self/fd/0; stty -g"))
		if len(lines) != 4 || (lines[1] == lines[2]) != c.same || lines[0] != lines[3] {
			t.Errorf("%q: modes, our terminal, the program's, modes: %q (want the same terminal: %v)", c.args, lines, c.same)
		}
	}
}

// underScript runs a shell command line under script(1), which gives it a
// terminal, with a stdin that stays open and silent, as a person who types
// nothing (at the end of /dev/null script would send a byte of its own).
// It returns the output without the terminal's carriage returns.
func underScript(t *testing.T, env []string, line string) string {
	t.Helper()
	cmd := exec.Command("script", "-qec", line, "/dev/null")
	cmd.Env = append(os.Environ(), env...)
	stdin, hold, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	defer stdin.Close()
	cmd.Stdin = stdin
	out, _ := cmd.Output()
	return strings.ReplaceAll(string(out), "\r", "")
}

// TestPluginWindowSize: when our terminal's size changes during a session,
// the program's terminal follows. The program (with the host's files, --ns
// uts) says it has started through a file; then we resize.
func TestPluginWindowSize(t *testing.T) {
	d := newDockerCLI(t)
	started := filepath.Join(t.TempDir(), "started")
	program := fmt.Sprintf(`stty size; touch %s; i=0; while [ "$(stty size)" = "20 70" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; stty size`, started)
	out := underScript(t, d.env, fmt.Sprintf(`stty rows 20 cols 70; docker -H %s nsenter -t --ns uts web sh -c '%s' </dev/tty &
		while [ ! -e %s ]; do sleep 0.05; done; stty rows 41 cols 101; wait`, eng.DockerHost, program, started))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "20 70" || lines[1] != "41 101" {
		t.Errorf("want the size before and after the change, got %q", lines)
	}
}

// TestPluginSpecSources: docker nsenter reads the container's OCI spec from
// its bundle on disk, else asks containerd; both give the same spec, so the
// same session.
func TestPluginSpecSources(t *testing.T) {
	d := newDockerCLI(t)
	pid, _ := strconv.Atoi(dockerInspect(t, "web", "{{.State.Pid}}"))
	id := dockerInspect(t, "web", "{{.Id}}")
	proc, err := enter.Pin(pid, "web", id, enter.Monitor{})
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Close()
	fromBundle, err := bundle.SpecJSON(proc, "moby", id)
	if err != nil {
		t.Fatalf("the bundle of web: %v", err)
	}
	a, err := containerd.New(eng.ContainerdAddress, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fromContainerd, err := a.SpecJSON(context.Background(), "moby", id)
	if err != nil {
		t.Fatalf("containerd: %v", err)
	}
	if a, b := sameJSON(t, fromBundle), sameJSON(t, fromContainerd); a != b {
		t.Errorf("the bundle's spec and containerd's differ:\n%s\n%s", a, b)
	}
	want := d.run(t, "", "nsenter", "web", "sh", "-c", "pwd; echo $FOO; env | sort")
	got := d.runRaw(t, "", []string{"CNSENTER_SPEC_FROM_CONTAINERD=1"}, "-H", eng.DockerHost, "nsenter", "web", "sh", "-c", "pwd; echo $FOO; env | sort")
	if want.code != 0 || got.stdout != want.stdout || got.code != 0 {
		t.Errorf("from the bundle %v, from containerd %v", want, got)
	}
	r := d.runRaw(t, "", []string{"CNSENTER_SPEC_FROM_CONTAINERD=1"}, "-H", eng.DockerHost, "nsenter", "--containerd-address", "/nonexistent.sock", "web", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "docker nsenter: the OCI spec of web: not in its bundle (CNSENTER_SPEC_FROM_CONTAINERD=1), and containerd://moby/"+id+": cannot reach containerd at /nonexistent.sock") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("neither the bundle nor containerd: %v", r)
	}
}

// sameJSON renders a document canonically (sorted keys, no spacing).
func sameJSON(t *testing.T, data []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestPluginCancel: the docker CLI, sent SIGTERM while it runs docker
// nsenter without a terminal, tells the plugin by closing the socket it
// names in DOCKER_CLI_PLUGIN_SOCKET; the program gets SIGTERM and the
// session ends as docker exec's would, 128+15.
func TestPluginCancel(t *testing.T) {
	d := newDockerCLI(t)
	cmd := exec.Command("docker", "-H", eng.DockerHost, "nsenter", "web", "sh", "-c", "trap 'echo terminated; exit 143' TERM; echo started; i=0; while [ $i -lt 15 ]; do sleep 1; i=$((i+1)); done")
	cmd.Env = append(os.Environ(), d.env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line := make([]byte, len("started\n"))
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "started\n" {
		t.Fatalf("the program did not start: %q %v %s", line, err, stderr.String())
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	var rest []byte
	done := make(chan error, 1)
	go func() {
		rest, _ = io.ReadAll(out)
		done <- cmd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// The program ends by itself after 15 seconds either way.
		t.Fatalf("docker nsenter still runs 10s after SIGTERM: %s", stderr.String())
	}
	if string(rest) != "terminated\n" || cmd.ProcessState.ExitCode() != 143 {
		t.Errorf("after SIGTERM: output %q, exit %d, after %v, stderr %q", rest, cmd.ProcessState.ExitCode(), time.Since(start), stderr.String())
	}
}
