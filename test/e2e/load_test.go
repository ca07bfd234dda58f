package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsenter/cnsenter/test/engines"
)

// openFiles counts a process's descriptors.
func openFiles(t *testing.T, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// daemonPIDs finds the test engines' daemons by their sockets.
func daemonPIDs(t *testing.T) map[string]int {
	pids := map[string]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		switch {
		case filepath.Base(args[0]) == "dockerd" && strings.Contains(string(cmdline), eng.DockerHost):
			pids["dockerd"] = pid
		case filepath.Base(args[0]) == "containerd" && strings.Contains(string(cmdline), eng.Dir):
			pids["containerd"] = pid
		}
	}
	if len(pids) != 2 {
		t.Fatalf("cannot find the test daemons: %v", pids)
	}
	return pids
}

// TestManySessions: 100 sessions at once into one container, and 20
// containers entered in parallel, all succeed, and afterwards no process of
// ours is left and the daemons hold no more descriptors than before.
func TestManySessions(t *testing.T) {
	requireEngines(t)
	parallel := func(n int, f func(i int) error) []error {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f(i) }()
		}
		wg.Wait()
		return errs
	}
	for _, err := range parallel(20, func(i int) error {
		_, err := eng.Docker("run", "-d", "--name", fmt.Sprintf("many%d", i), "--hostname", fmt.Sprintf("many%d", i), engines.BusyboxImage, "sleep", "100000")
		return err
	}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	defer parallel(20, func(i int) error { _, err := eng.Docker("rm", "-f", fmt.Sprintf("many%d", i)); return err })

	// Containers hold descriptors in the daemons: count with them there.
	daemons := daemonPIDs(t)
	before := map[string]int{}
	for name, pid := range daemons {
		before[name] = openFiles(t, pid)
	}
	ourFiles := openFiles(t, os.Getpid())

	for i, err := range parallel(100, func(int) error {
		if r := cnsenter(t, nil, "-t", "docker://web", "-a", "sleep", "0.2"); r.code != 0 {
			return fmt.Errorf("%v", r)
		}
		return nil
	}) {
		if err != nil {
			t.Errorf("session %d of 100: %v", i, err)
		}
	}

	for i, err := range parallel(20, func(i int) error {
		if r := cnsenter(t, nil, "-t", fmt.Sprintf("docker://many%d", i), "-a", "hostname"); r.stdout != fmt.Sprintf("many%d\n", i) {
			return fmt.Errorf("%v", r)
		}
		return nil
	}) {
		if err != nil {
			t.Errorf("container %d of 20: %v", i, err)
		}
	}

	time.Sleep(500 * time.Millisecond) // idle connections close
	noneLeft(t)
	for name, pid := range daemons {
		if now := openFiles(t, pid); now > before[name]+2 {
			t.Errorf("%s holds %d descriptors, %d before", name, now, before[name])
		}
	}
	if now := openFiles(t, os.Getpid()); now > ourFiles+2 {
		t.Errorf("the test holds %d descriptors, %d before", now, ourFiles)
	}
}

// noneLeft checks that no process runs any of cnsenter's programs: the
// front, the Go side, stage 2.
func noneLeft(t *testing.T) {
	t.Helper()
	for _, program := range []string{"cnsenter", "cnsenter-go", "cnsenter-enter"} {
		if left := processesOf(filepath.Join(bin, program)); len(left) != 0 {
			t.Errorf("%s processes left: %v", program, left)
		}
	}
}

// processesOf lists the processes running a binary.
func processesOf(path string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); exe == path {
			pid, _ := strconv.Atoi(e.Name())
			pids = append(pids, pid)
		}
	}
	return pids
}
