// Command bench measures what users feel: how long it takes to get a
// program running in a container, against util-linux nsenter, docker exec
// and ctr task exec, side by side in one run (A and B alternate, so that
// the machine's noise hits both), and what it costs in memory. It prints;
// it never fails because something is slow. Run it as root: make bench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cnsenter/cnsenter/test/engines"
)

func main() {
	bin := flag.String("bin", "bin", "directory of the built binaries")
	pairs := flag.Int("pairs", 30, "measured pairs per comparison (after 3 warm-up pairs)")
	flag.Parse()
	if err := run(*bin, *pairs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin string, pairs int) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root")
	}
	bin, _ = filepath.Abs(bin)
	e, err := engines.Start()
	if err != nil {
		return err
	}
	defer e.Stop()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-stop; e.Stop(); os.Exit(130) }()

	if _, err := e.Docker("run", "-d", "--name", "bench", engines.BusyboxImage, "sleep", "100000"); err != nil {
		return err
	}
	if err := e.RunTask("benchtask", "/bin/sleep", "100000"); err != nil {
		return err
	}
	target := exec.Command("unshare", "--fork", "--pid", "--mount-proc", "--uts", "--ipc", "--net", "--mount", "--kill-child", "sleep", "100000")
	target.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := target.Start(); err != nil {
		return err
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	pid := ""
	for i := 0; i < 100 && pid == ""; i++ {
		time.Sleep(10 * time.Millisecond)
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", target.Process.Pid, target.Process.Pid))
		pid = strings.TrimSpace(string(data))
	}
	if pid == "" {
		return fmt.Errorf("the unshare target did not start")
	}

	env := append(os.Environ(), e.Env()...)
	config, err := os.MkdirTemp("", "cnsenter-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(config)
	plugin := filepath.Join(bin, "docker-nsenter")
	if data, err := os.ReadFile(plugin); err == nil {
		os.MkdirAll(filepath.Join(config, "cli-plugins"), 0o755)
		os.WriteFile(filepath.Join(config, "cli-plugins", "docker-nsenter"), data, 0o755)
	}
	dockerEnv := append(env, "DOCKER_CONFIG="+config)
	cns := filepath.Join(bin, "cnsenter")
	docker := []string{"docker", "-H", e.DockerHost}
	execs := 0
	ctrExec := func() []string {
		execs++
		return []string{"ctr", "--address", e.ContainerdAddress, "-n", engines.Namespace, "task", "exec", "--exec-id", "bench-" + strconv.Itoa(execs), "benchtask", "/bin/true"}
	}
	comparisons := []struct {
		name string
		a, b func() []string
		env  []string
	}{
		{"raw entry: `cnsenter -t PID -a true` / `nsenter -t PID -a true`",
			fixed(cns, "-t", pid, "-a", "true"), fixed("nsenter", "-t", pid, "-a", "true"), env},
		{"`cnsenter -t docker://NAME -a true` / `docker exec NAME true`",
			fixed(cns, "-t", "docker://bench", "-a", "true"), fixed(append(docker, "exec", "bench", "true")...), env},
		{"`docker nsenter NAME true` / `docker exec NAME true`",
			fixed(append(docker, "nsenter", "bench", "true")...), fixed(append(docker, "exec", "bench", "true")...), dockerEnv},
		{"`cnsenter -t containerd://NS/ID -a true` / `ctr task exec`",
			fixed(cns, "-t", "containerd://"+engines.Namespace+"/benchtask", "-a", "true"), ctrExec, env},
	}
	host, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Printf("Machine: Linux %s, %d cores; %s; %d pairs after 3 warm-up pairs, A and B alternating.\n\n",
		strings.TrimSpace(string(host)), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), pairs)
	fmt.Println("| comparison (A / B) | median A | median B | median of A/B |")
	fmt.Println("|---|---|---|---|")
	for _, c := range comparisons {
		if _, err := os.Stat(plugin); err != nil && strings.Contains(c.name, "docker nsenter") {
			fmt.Printf("| %s | — | — | plugin not built |\n", c.name)
			continue
		}
		as, bs, ratios, err := compare(c.a, c.b, c.env, pairs)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Printf("| %s | %s | %s | %.2fx |\n", c.name, ms(median(as)), ms(median(bs)), median(ratios))
	}

	fmt.Println("\n| command | peak RSS |")
	fmt.Println("|---|---|")
	for _, c := range []struct {
		name string
		argv []string
		env  []string
	}{
		{"cnsenter -t PID -a true", []string{cns, "-t", pid, "-a", "true"}, env},
		{"nsenter -t PID -a true", []string{"nsenter", "-t", pid, "-a", "true"}, env},
		{"cnsenter -t docker://bench -a true", []string{cns, "-t", "docker://bench", "-a", "true"}, env},
		{"docker nsenter bench true", append(docker, "nsenter", "bench", "true"), dockerEnv},
		{"docker exec bench true", append(docker, "exec", "bench", "true"), env},
	} {
		rss, err := peakRSS(c.argv, c.env)
		if err != nil {
			fmt.Printf("| `%s` | %v |\n", c.name, err)
			continue
		}
		fmt.Printf("| `%s` | %.1f MiB |\n", c.name, float64(rss)/1024)
	}

	fmt.Println("\n| binary | size |")
	fmt.Println("|---|---|")
	for _, b := range []string{"cnsenter", "cnsenter-resolve", "docker-nsenter"} {
		if st, err := os.Stat(filepath.Join(bin, b)); err == nil {
			fmt.Printf("| %s | %.1f MiB |\n", b, float64(st.Size())/(1<<20))
		}
	}

	ok, wall, total := concurrent(cns, env, 100)
	fmt.Printf("\n100 sessions at once (`cnsenter -t docker://bench -a sleep 1`): %d succeeded, wall %s, total peak RSS %.0f MiB.\n", ok, wall.Round(time.Millisecond), float64(total)/1024)
	return nil
}

func fixed(argv ...string) func() []string { return func() []string { return argv } }

// compare times A and B alternately: 3 warm-up pairs, then pairs measured.
func compare(a, b func() []string, env []string, pairs int) (as, bs, ratios []float64, err error) {
	for i := 0; i < pairs+3; i++ {
		ta, err := timeRun(a(), env)
		if err != nil {
			return nil, nil, nil, err
		}
		tb, err := timeRun(b(), env)
		if err != nil {
			return nil, nil, nil, err
		}
		if i >= 3 {
			as, bs, ratios = append(as, ta), append(bs, tb), append(ratios, ta/tb)
		}
	}
	return as, bs, ratios, nil
}

func timeRun(argv, env []string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%q: %w: %s", argv, err, out)
	}
	return time.Since(start).Seconds(), nil
}

// peakRSS is the command's maximum resident set in KiB, as /usr/bin/time
// -f %M reports it. (Measured from a Go parent the kernel would report the
// parent's own: os/exec starts children with vfork semantics, and exec
// keeps the larger of the old and new high-water marks.)
func peakRSS(argv, env []string) (int64, error) {
	out, err := os.CreateTemp("", "cnsenter-bench-rss-")
	if err != nil {
		return 0, err
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", out.Name()}, argv...)...)
	cmd.Env = env
	if msg, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%w: %s", err, msg)
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
}

// concurrent starts n sessions together into the Docker container; the
// total RSS is the sum of each session's peak.
func concurrent(cns string, env []string, n int) (ok int, wall time.Duration, rss int64) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			peak, err := peakRSS([]string{cns, "-t", "docker://bench", "-a", "sleep", "1"}, env)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
				rss += peak
			}
		}()
	}
	wg.Wait()
	return ok, time.Since(start), rss
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func ms(seconds float64) string { return fmt.Sprintf("%.1f ms", seconds*1000) }
