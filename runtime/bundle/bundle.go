// Package bundle reads the OCI spec a running container was started with
// from its bundle on disk, without asking containerd.
//
// containerd's shim starts in the task's bundle directory
// (STATE/io.containerd.runtime.v2.task/NAMESPACE/ID, holding config.json and
// init.pid) and is the parent of the task's init process. So the spec of
// the container whose init is PID is /proc/PPID/cwd/config.json, once the
// parent is seen to be a shim, the directory to be NAMESPACE/ID and its
// init.pid to be PID. A file read costs microseconds; a containerd client's
// package initialisation alone costs milliseconds on every run.
package bundle

import (
	"github.com/cnsenter/cnsenter/internal/procfs"

	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/enter"
)

// SpecJSON returns the spec (config.json) of task namespace/id, whose init
// process is init, for the caller to decode what it needs of it. An error
// means the bundle could not be found or checked this way (another runtime,
// the shim gone); the caller can still ask containerd.
//
// Both processes are pinned (enter.Pin): the parent is read from the
// init's own /proc directory, and the shim pinned is its parent only if it
// still is once pinned (had the parent exited and its PID been taken over
// in between, the init would have been given another parent by then).
func SpecJSON(init *enter.Process, namespace, id string) ([]byte, error) {
	pid := init.PID()
	ppid, err := parent(init)
	if err != nil {
		return nil, err
	}
	parentProcess, err := enter.Pin(ppid, "", "", enter.Monitor{})
	if err != nil {
		return nil, fmt.Errorf("the parent of process %d: %w", pid, err)
	}
	defer parentProcess.Close()
	if again, err := parent(init); err != nil || again != ppid {
		return nil, fmt.Errorf("the parent of process %d changed while it was read", pid)
	}
	shim := parentProcess.Dir()
	if exe, err := readlinkat(shim, "exe"); err != nil || !strings.HasPrefix(filepath.Base(exe), "containerd-shim") {
		return nil, fmt.Errorf("the parent of process %d is no containerd shim (%q, %v)", pid, exe, err)
	}
	cwd, err := readlinkat(shim, "cwd")
	if err != nil {
		return nil, fmt.Errorf("the shim's directory: %w", err)
	}
	if filepath.Base(filepath.Dir(cwd)) != namespace || filepath.Base(cwd) != id && !isName(id) {
		return nil, fmt.Errorf("the shim of process %d runs in %s, not a bundle of %s/%s", pid, cwd, namespace, id)
	}
	dir, err := unix.Openat(shim, "cwd", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("the bundle %s: %w", cwd, err)
	}
	if filepath.Base(cwd) != id {
		// One shim for several containers: containerd's CRI plugin runs
		// a pod's under its sandbox's shim, whose directory is the
		// sandbox's bundle; the container's is beside it, NAMESPACE/ID.
		// init.pid, below, says whether it is the process's.
		sibling, err := unix.Openat(dir, "../"+id, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(dir)
		if err != nil {
			return nil, fmt.Errorf("the bundle of %s/%s beside the shim's %s: %w", namespace, id, cwd, err)
		}
		dir, cwd = sibling, filepath.Join(filepath.Dir(cwd), id)
	}
	defer unix.Close(dir)
	initPID, err := readFileAt(dir, "init.pid")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(initPID)) != strconv.Itoa(pid) {
		return nil, fmt.Errorf("the bundle %s is not that of process %d (init.pid %q)", cwd, pid, initPID)
	}
	data, err := readFileAt(dir, "config.json")
	if err != nil {
		return nil, err
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("%s/config.json is not JSON", cwd)
	}
	return data, nil
}

// isName tells whether an ID is one path element, neither . nor ..
func isName(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsRune(id, '/')
}

// parent reads the parent's PID from /proc/PID/stat: the fourth field,
// after the command name, which may itself hold spaces and parentheses.
func parent(p *enter.Process) (int, error) {
	pid := p.PID()
	fd, err := unix.Openat(p.Dir(), "stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), "stat")
	stat, err := io.ReadAll(io.LimitReader(f, 4096))
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	st, err := procfs.ParseStat(stat)
	if err != nil || st.PPID <= 0 {
		return 0, fmt.Errorf("process %d: no parent in /proc/%d/stat", pid, pid)
	}
	return st.PPID, nil
}

func readlinkat(dir int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dir, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func readFileAt(dir int, name string) ([]byte, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("the bundle's %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("the bundle's %s: %w", name, err)
	}
	return b.Bytes(), nil
}
