// Command bench measures what users feel: the wall time to get a program
// running in a container, against util-linux nsenter, docker exec and ctr
// task exec, side by side in one run (A and B alternate, so that the
// machine's noise hits both alike), and what it costs in memory. It starts
// the tests' private containerd and dockerd (test/engines) and removes
// everything again, also when interrupted. It prints a Markdown report on
// stdout (progress on stderr); it never fails because something is slow,
// only when a command fails to run. Run it as root: make bench. See
// README.md here for how to read it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cnsenter/cnsenter/test/engines"
)

const (
	warmup      = 3                // pairs run before the measured ones
	minPairs    = 20               // fewer make the medians noise
	cmdTimeout  = 60 * time.Second // for one command: only a hang reaches it
	loadTimeout = 2 * time.Minute  // for the concurrent sessions, together
	grace       = 5 * time.Second  // for a command under way when a signal comes
	timeBin     = "/usr/bin/time"  // GNU time (Debian package time)
	container   = "bench"          // the Docker container
	task        = "benchtask"      // the containerd task, in engines.Namespace
)

func main() {
	bin := flag.String("bin", "bin", "directory of the built binaries")
	pairs := flag.Int("pairs", 30, fmt.Sprintf("measured A,B pairs per comparison, after %d warm-up pairs (at least %d)", warmup, minPairs))
	sessions := flag.Int("sessions", 100, "sessions started at once into the Docker container")
	flag.Parse()
	if *pairs < minPairs || *sessions < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	// Caught until run has cleaned up: a second ^C does not cut the cleanup.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	err := run(ctx, *bin, *pairs, *sessions)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if interrupted {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

// errInterrupted wraps the context's error once a signal came.
func errInterrupted(ctx context.Context) error {
	return fmt.Errorf("interrupted, everything removed: %w", ctx.Err())
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, bin string, pairs, sessions int) (err error) {
	if os.Geteuid() != 0 {
		return errors.New("needs root, to start the engines and enter namespaces: sudo make bench")
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return fmt.Errorf("-bin: %w", err)
	}
	cns := filepath.Join(bin, "cnsenter")
	if _, err := os.Stat(cns); err != nil {
		return fmt.Errorf("run make build first: %w", err)
	}
	for _, tool := range []string{"nsenter", "unshare", timeBin} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("run make deps (test/install-deps.sh): %w", err)
		}
	}

	work, err := os.MkdirTemp("", "cnsenter-bench-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(work); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing %s: %w", work, rmErr))
		}
	}()
	// Every docker CLI of the run, the engines' own included, reads this
	// configuration and not the invoking user's; the plugin is installed
	// in it for this run only.
	config := filepath.Join(work, "docker-config")
	if err := os.MkdirAll(config, 0o700); err != nil {
		return fmt.Errorf("docker configuration: %w", err)
	}
	if err := os.Setenv("DOCKER_CONFIG", config); err != nil {
		return fmt.Errorf("DOCKER_CONFIG: %w", err)
	}
	plugin, err := installPlugin(filepath.Join(bin, "docker-nsenter"), filepath.Join(config, "cli-plugins"))
	if err != nil {
		return err
	}
	r, err := newRunner(ctx, work)
	if err != nil {
		return err
	}
	defer r.close()

	progress("starting containerd and dockerd on private sockets")
	e, err := engines.Start()
	if err != nil {
		return fmt.Errorf("starting the engines: %w", err)
	}
	defer func() {
		progress("stopping the engines")
		if stopErr := e.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stopping the engines: %w", stopErr))
		}
	}()
	if ctx.Err() != nil {
		return errInterrupted(ctx)
	}
	if _, err := e.Docker("run", "-d", "--name", container, engines.BusyboxImage, "sleep", "100000"); err != nil {
		return fmt.Errorf("the Docker container: %w", err)
	}
	if err := e.RunTask(task, "/bin/sleep", "100000"); err != nil {
		return fmt.Errorf("the containerd task: %w", err)
	}
	pid, stopTarget, err := startTarget(ctx)
	if err != nil {
		return err
	}
	defer stopTarget()
	r.env = append(os.Environ(), e.Env()...)
	rep := &report{pairs: pairs, machine: machine(), versions: r.versions(cns, e)}

	target := strconv.Itoa(pid)
	docker := []string{"docker", "-H", e.DockerHost}
	// /bin/true, not true: a task made by ctr run --rootfs has no
	// environment, so runc finds no PATH to look true up in.
	execs := 0
	ctrExec := func() []string {
		execs++
		return []string{e.Path("ctr"), "--address", e.ContainerdAddress, "-n", engines.Namespace, "task", "exec", "--exec-id", "bench-" + strconv.Itoa(execs), task, "/bin/true"}
	}
	dockerExec := fixed(append(slices.Clone(docker), "exec", container, "true")...)
	dockerNsenter := fixed(append(slices.Clone(docker), "nsenter", container, "true")...)
	rep.comparisons = []*comparison{
		{a: "`cnsenter -t PID -a true`", b: "`nsenter -t PID -a true`",
			argvA: fixed(cns, "-t", target, "-a", "true"), argvB: fixed("nsenter", "-t", target, "-a", "true")},
		{a: "`cnsenter -t docker://bench -a true`", b: "`docker exec bench true`",
			argvA: fixed(cns, "-t", "docker://"+container, "-a", "true"), argvB: dockerExec},
		{a: "`docker nsenter bench true`", b: "`docker exec bench true`",
			argvA: dockerNsenter, argvB: dockerExec, skip: !plugin},
		{a: "`cnsenter -t containerd://cnsenter-test/benchtask -a true`", b: "`ctr task exec --exec-id bench-N benchtask /bin/true`",
			argvA: fixed(cns, "-t", "containerd://"+engines.Namespace+"/"+task, "-a", "true"), argvB: ctrExec},
	}
	for i, c := range rep.comparisons {
		if c.skip {
			progress("[%d/%d] %s / %s: skipped, %s is not built", i+1, len(rep.comparisons), c.a, c.b, filepath.Join(bin, "docker-nsenter"))
			continue
		}
		progress("[%d/%d] %s / %s: %d pairs after %d warm-up pairs", i+1, len(rep.comparisons), c.a, c.b, pairs, warmup)
		if err := r.compare(c, pairs); err != nil {
			return err
		}
	}

	progress("peak RSS of one run of each command")
	for _, c := range rep.comparisons {
		for _, cmd := range []struct {
			name string
			argv func() []string
		}{{c.a, c.argvA}, {c.b, c.argvB}} {
			if c.skip || slices.ContainsFunc(rep.rss, func(r rss) bool { return r.name == cmd.name }) {
				continue
			}
			kib, err := r.peakRSS(cmd.argv())
			if err != nil {
				return err
			}
			rep.rss = append(rep.rss, rss{cmd.name, kib})
		}
	}

	// docker nsenter's number is the docker CLI's: it waits for the plugin,
	// so its peak is the larger of the two. The plugin alone, as the CLI
	// runs it (DOCKER_HOST from the engines' environment):
	if plugin {
		name := "`docker-nsenter nsenter bench true` (the plugin alone, as the CLI runs it)"
		kib, err := r.peakRSS([]string{filepath.Join(bin, "docker-nsenter"), "nsenter", container, "true"})
		if err != nil {
			return err
		}
		rep.rss = append(rep.rss, rss{name, kib})
	}

	if rep.sizes, err = binarySizes(bin); err != nil {
		return err
	}

	progress("%d sessions at once into the Docker container", sessions)
	rep.load, err = r.concurrent([]string{cns, "-t", "docker://" + container, "-a", "sleep", "1"}, sessions)
	if err != nil {
		return err
	}
	rep.print(os.Stdout)
	return nil
}

// installPlugin copies the plugin, if built, where the docker CLI of this
// run looks for plugins.
func installPlugin(from, dir string) (bool, error) {
	if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	from, err := filepath.Abs(from)
	if err != nil {
		return false, fmt.Errorf("the docker nsenter plugin: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("the docker nsenter plugin: %w", err)
	}
	// A link: the plugin finds its helpers (docker-nsenter-go,
	// cnsenter-enter) beside the binary it links to.
	if err := os.Symlink(from, filepath.Join(dir, "docker-nsenter")); err != nil {
		return false, fmt.Errorf("the docker nsenter plugin: %w", err)
	}
	return true, nil
}

// startTarget starts the plain target, the child of unshare in namespaces
// of its own, and returns its PID once it runs sleep. stop kills unshare
// (--kill-child takes the target with it) and waits until the target is
// gone.
func startTarget(ctx context.Context) (pid int, stop func(), err error) {
	cmd := exec.Command("unshare", "--fork", "--pid", "--mount-proc", "--uts", "--ipc", "--net", "--mount", "--kill-child", "sleep", "100000")
	// Its own process group: a ^C at the terminal is ours to handle.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("starting the unshare target: %w", err)
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for deadline := time.Now().Add(5 * time.Second); pid > 0 && running(pid, "sleep"); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if pid = childOf(cmd.Process.Pid); pid > 0 && running(pid, "sleep") {
			return pid, stop, nil
		}
		if ctx.Err() != nil {
			stop()
			return 0, nil, errInterrupted(ctx)
		}
		if time.Now().After(deadline) {
			stop()
			return 0, nil, errors.New("the unshare target did not start sleep within 10s")
		}
	}
}

// childOf is a child process of parent, or 0.
func childOf(parent int) int {
	entries, _ := os.ReadDir("/proc")
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		status, _ := os.ReadFile(filepath.Join("/proc", ent.Name(), "status"))
		for _, line := range strings.Split(string(status), "\n") {
			if ppid, ok := strings.CutPrefix(line, "PPid:"); ok && strings.TrimSpace(ppid) == strconv.Itoa(parent) {
				return pid
			}
		}
	}
	return 0
}

// running: pid runs the program named comm, and is not a zombie.
func running(pid int, comm string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// PID (COMM) STATE ...; COMM may hold spaces and parentheses.
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open || end+2 >= len(data) {
		return false
	}
	state := data[end+2]
	return string(data[open+1:end]) == comm && state != 'Z' && state != 'X'
}

func fixed(argv ...string) func() []string { return func() []string { return argv } }

// runner runs the measured commands with the engines' environment, stdin
// and stdout on /dev/null and stderr into a file read only on failure.
type runner struct {
	ctx     context.Context
	env     []string
	work    string
	devNull *os.File
	stderr  *os.File
	rssRuns int
}

func newRunner(ctx context.Context, work string) (*runner, error) {
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	stderr, err := os.Create(filepath.Join(work, "stderr"))
	if err != nil {
		devNull.Close()
		return nil, fmt.Errorf("stderr file: %w", err)
	}
	return &runner{ctx: ctx, env: os.Environ(), work: work, devNull: devNull, stderr: stderr}, nil
}

func (r *runner) close() {
	r.devNull.Close()
	r.stderr.Close()
}

// commandContext ends at a command's deadline, or a grace period after a
// signal: the command under way is let finish (they take milliseconds), so
// that nothing it would clean up after itself is left behind, such as the
// FIFOs of ctr task exec.
func (r *runner) commandContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), timeout)
	stop := context.AfterFunc(r.ctx, func() {
		select {
		case <-ctx.Done():
		case <-time.After(grace):
			cancel()
		}
	})
	return ctx, func() { stop(); cancel() }
}

func (r *runner) command(ctx context.Context, argv []string, stderr io.Writer) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = r.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.devNull, r.devNull, stderr
	// A group of its own, killed whole when ctx ends: GNU time's child, or
	// what a command started, is not left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// timed is the wall time of one whole run of argv.
func (r *runner) timed(argv []string) (time.Duration, error) {
	if r.ctx.Err() != nil {
		return 0, errInterrupted(r.ctx)
	}
	if err := r.stderr.Truncate(0); err != nil {
		return 0, fmt.Errorf("stderr file: %w", err)
	}
	if _, err := r.stderr.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("stderr file: %w", err)
	}
	ctx, cancel := r.commandContext(cmdTimeout)
	defer cancel()
	cmd := r.command(ctx, argv, r.stderr)
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		msg, _ := os.ReadFile(r.stderr.Name())
		return 0, r.failed(ctx, argv, err, msg)
	}
	return elapsed, nil
}

func (r *runner) failed(ctx context.Context, argv []string, err error, stderr []byte) error {
	if r.ctx.Err() != nil {
		return errInterrupted(r.ctx)
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("killed, still running after %s: %w", cmdTimeout, err)
	}
	msg := strings.TrimSpace(string(stderr))
	if len(msg) > 2000 {
		msg = "..." + msg[len(msg)-2000:]
	}
	return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
}

// output is a command's first line of output, for the report's versions;
// "?" when it fails (the versions are not measured).
func (r *runner) output(argv ...string) string {
	ctx, cancel := r.commandContext(cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = r.env
	out, err := cmd.Output()
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func (r *runner) versions(cns string, e *engines.Engines) []string {
	docker, err := e.Docker("version", "-f", "{{.Client.Version}} (CLI), {{.Server.Version}} (dockerd)")
	if err != nil {
		docker = "?"
	}
	return []string{
		r.output(cns, "-V"),
		r.output("nsenter", "--version"),
		"docker " + docker,
		r.output(e.Path("containerd"), "--version"),
	}
}

// comparison is one pair of commands, A and B, and its measurements.
type comparison struct {
	a, b         string // as printed
	argvA, argvB func() []string
	skip         bool // the plugin is not built
	as, bs       []time.Duration
	ratios       []float64 // A/B, pair by pair
}

// compare runs A and B alternately: warm-up pairs, then pairs measured.
func (r *runner) compare(c *comparison, pairs int) error {
	for i := 0; i < warmup+pairs; i++ {
		ta, err := r.timed(c.argvA())
		if err != nil {
			return err
		}
		tb, err := r.timed(c.argvB())
		if err != nil {
			return err
		}
		if i >= warmup {
			c.as, c.bs, c.ratios = append(c.as, ta), append(c.bs, tb), append(c.ratios, float64(ta)/float64(tb))
		}
	}
	return nil
}

// rssCommand runs argv under GNU time, which writes the peak RSS into
// file. GNU time forks: its child's rusage is the command's own. (A child
// of ours would not do: Go starts children with CLONE_VM|CLONE_VFORK, and
// exec keeps the larger of the old and new high-water marks, so its
// ru_maxrss would be at least this program's own peak RSS.)
func (r *runner) rssCommand(ctx context.Context, argv []string, file string, stderr io.Writer) *exec.Cmd {
	return r.command(ctx, append([]string{timeBin, "-f", "%M", "-o", file}, argv...), stderr)
}

// readRSS reads the KiB GNU time wrote, its last line.
func readRSS(file string) (int64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	kib, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("peak RSS from %s: %w", timeBin, err)
	}
	return kib, nil
}

// peakRSS is the peak resident set of one run of argv, in KiB: that of the
// largest process of the run (the rusage of a child covers the children
// it waited for, as a maximum).
func (r *runner) peakRSS(argv []string) (int64, error) {
	if r.ctx.Err() != nil {
		return 0, errInterrupted(r.ctx)
	}
	r.rssRuns++
	file := filepath.Join(r.work, fmt.Sprintf("rss-%d", r.rssRuns))
	ctx, cancel := r.commandContext(cmdTimeout)
	defer cancel()
	var stderr bytes.Buffer
	if err := r.rssCommand(ctx, argv, file, &stderr).Run(); err != nil {
		return 0, r.failed(ctx, argv, err, stderr.Bytes())
	}
	if r.ctx.Err() != nil {
		return 0, errInterrupted(r.ctx)
	}
	return readRSS(file)
}

// load is what the concurrent sessions did.
type load struct {
	n        int
	wall     time.Duration
	ok       int
	rss      []int64  // KiB, of each session that succeeded
	failures []string // one line each
}

// concurrent starts n sessions of argv together and waits for all. Failed
// sessions are reported, not an error: under load they are a result.
func (r *runner) concurrent(argv []string, n int) (load, error) {
	if r.ctx.Err() != nil {
		return load{}, errInterrupted(r.ctx)
	}
	ctx, cancel := r.commandContext(loadTimeout)
	defer cancel()
	res := load{n: n}
	cmds := make([]*exec.Cmd, n)
	stderrs := make([]bytes.Buffer, n)
	files := make([]string, n)
	for i := range cmds {
		files[i] = filepath.Join(r.work, fmt.Sprintf("load-%d", i))
		cmds[i] = r.rssCommand(ctx, argv, files[i], &stderrs[i])
	}
	errs := make([]error, n)
	done := make(chan int, n)
	start := time.Now()
	for i, cmd := range cmds {
		if errs[i] = cmd.Start(); errs[i] != nil {
			done <- i
			continue
		}
		go func() {
			errs[i] = cmd.Wait()
			done <- i
		}()
	}
	for range n {
		<-done
	}
	res.wall = time.Since(start)
	if r.ctx.Err() != nil {
		return res, errInterrupted(r.ctx)
	}
	for i, err := range errs {
		if err == nil {
			var kib int64
			if kib, err = readRSS(files[i]); err == nil {
				res.ok++
				res.rss = append(res.rss, kib)
				continue
			}
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("still running after %s: %w", loadTimeout, err)
		}
		res.failures = append(res.failures, fmt.Sprintf("session %d: %v: %s", i, err, oneLine(stderrs[i].String())))
	}
	return res, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

type rss struct {
	name string
	kib  int64
}

type size struct {
	name  string
	bytes int64
	same  string // the first name of the same file (a hard link), if any
}

// binarySizes are those of the regular files in bin.
func binarySizes(bin string) ([]size, error) {
	entries, err := os.ReadDir(bin)
	if err != nil {
		return nil, fmt.Errorf("sizes: %w", err)
	}
	var sizes []size
	var infos []os.FileInfo
	for _, ent := range entries {
		info, err := ent.Info()
		if err != nil {
			return nil, fmt.Errorf("sizes: %w", err)
		}
		if !info.Mode().IsRegular() {
			continue
		}
		s := size{name: ent.Name(), bytes: info.Size()}
		for i, earlier := range infos {
			if os.SameFile(earlier, info) {
				s.same = sizes[i].name
				break
			}
		}
		sizes, infos = append(sizes, s), append(infos, info)
	}
	return sizes, nil
}

// machine is the kernel (uname -r), the usable CPUs (nproc: the affinity
// mask), the CPU model and the date.
func machine() string {
	var uts syscall.Utsname
	release := "?"
	if syscall.Uname(&uts) == nil {
		var b strings.Builder
		for _, c := range uts.Release {
			if c == 0 {
				break
			}
			b.WriteByte(byte(c))
		}
		release = b.String()
	}
	model := ""
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			model = ", " + strings.TrimSpace(value)
			break
		}
	}
	return fmt.Sprintf("Linux %s, %d cores%s; %s", release, runtime.NumCPU(), model, time.Now().UTC().Format("2006-01-02 15:04 MST"))
}

type report struct {
	pairs       int
	machine     string
	versions    []string
	comparisons []*comparison
	rss         []rss
	sizes       []size
	load        load
}

func (rep *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nMachine: %s; %d pairs after %d warm-up pairs, A and B alternating; wall time of each whole command.\n", rep.machine, rep.pairs, warmup)
	fmt.Fprintf(w, "Versions: %s.\n\n", strings.Join(rep.versions, "; "))
	fmt.Fprintln(w, "| A | B | median A | median B | median of A/B |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, c := range rep.comparisons {
		if c.skip {
			fmt.Fprintf(w, "| %s | %s | — | — | skipped: docker-nsenter is not built |\n", c.a, c.b)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2fx |\n", c.a, c.b, ms(median(c.as)), ms(median(c.bs)), median(c.ratios))
	}
	fmt.Fprintln(w, "\n| command (one run) | peak RSS |")
	fmt.Fprintln(w, "|---|---|")
	for _, r := range rep.rss {
		fmt.Fprintf(w, "| %s | %s |\n", r.name, mib(r.kib<<10))
	}
	fmt.Fprintln(w, "\n| binary | size |")
	fmt.Fprintln(w, "|---|---|")
	for _, s := range rep.sizes {
		if s.same != "" {
			fmt.Fprintf(w, "| %s | the same file as %s |\n", s.name, s.same)
			continue
		}
		fmt.Fprintf(w, "| %s | %s |\n", s.name, mib(s.bytes))
	}
	l := rep.load
	all := "yes"
	if l.ok < l.n {
		all = fmt.Sprintf("no: %d failed", l.n-l.ok)
	}
	var total int64
	for _, kib := range l.rss {
		total += kib
	}
	fmt.Fprintf(w, "\n| %d sessions at once: `cnsenter -t docker://bench -a sleep 1` | |\n", l.n)
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| all succeeded | %s (%d of %d) |\n", all, l.ok, l.n)
	fmt.Fprintf(w, "| wall time, first start to last exit | %s |\n", l.wall.Round(time.Millisecond))
	fmt.Fprintf(w, "| total peak RSS (sum over the sessions) | %s |\n", mib(total<<10))

	fmt.Fprintln(w, "\nRaw numbers (times in ms, in the order run; RSS in KiB; sizes in bytes):")
	for _, c := range rep.comparisons {
		if c.skip {
			continue
		}
		fmt.Fprintf(w, "\n%s / %s\n", c.a, c.b)
		fmt.Fprintf(w, "  A:   %s\n", join(c.as, func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }))
		fmt.Fprintf(w, "  B:   %s\n", join(c.bs, func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }))
		fmt.Fprintf(w, "  A/B: %s\n", join(c.ratios, func(f float64) string { return fmt.Sprintf("%.3f", f) }))
	}
	fmt.Fprintln(w)
	for _, r := range rep.rss {
		fmt.Fprintf(w, "peak RSS %s: %d\n", r.name, r.kib)
	}
	for _, s := range rep.sizes {
		fmt.Fprintf(w, "size %s: %d\n", s.name, s.bytes)
	}
	sorted := slices.Sorted(slices.Values(l.rss))
	fmt.Fprintf(w, "sessions: %d of %d succeeded, wall %.1f ms, total peak RSS %d\n", l.ok, l.n, float64(l.wall)/1e6, total)
	if len(sorted) > 0 {
		fmt.Fprintf(w, "sessions' peak RSS: min %d, median %d, max %d\n", sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1])
	}
	for _, f := range l.failures {
		fmt.Fprintln(w, "failed:", f)
	}
}

func join[T any](v []T, format func(T) string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = format(x)
	}
	return strings.Join(s, " ")
}

// median of a non-empty slice: the middle value, or the mean of the two.
func median[T time.Duration | float64](v []T) T {
	s := slices.Sorted(slices.Values(v))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }
