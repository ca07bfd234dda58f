package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cnsenter/cnsenter/internal/printable"
	"golang.org/x/sys/unix"
)

// Process is one process of the container, as processes.json has it. Text
// that comes from the container (names, arguments, environment, paths) is
// escaped as printable.String does; the raw bytes are in processes/PID/.
type Process struct {
	PID          int               `json:"pid"`   // on the host
	NSPID        []int             `json:"nspid"` // in each PID namespace, the container's last
	PPID         int               `json:"ppid"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	UID          []int             `json:"uid"` // real, effective, saved, filesystem
	GID          []int             `json:"gid"`
	Groups       []int             `json:"groups"`
	Threads      int               `json:"threads"`
	StartTicks   uint64            `json:"start_ticks"` // since boot, in clock ticks (stat's starttime)
	Cmdline      []string          `json:"cmdline"`
	Environ      []string          `json:"environ"`
	Cwd          string            `json:"cwd"`
	Root         string            `json:"root"`
	Exe          Exe               `json:"exe"`
	FDs          []FD              `json:"fds"`
	Namespaces   map[string]string `json:"namespaces"`
	Cgroups      []string          `json:"cgroups"`
	Capabilities map[string]string `json:"capabilities"` // inheritable, permitted, effective, bounding, ambient: hex masks
	Seccomp      string            `json:"seccomp"`      // disabled, strict, filter
	SeccompCount int               `json:"seccomp_filters"`
	NoNewPrivs   bool              `json:"no_new_privs"`
	Notes        []string          `json:"notes,omitempty"` // what could not be read, or was truncated
}

// Exe is a process's executable: the file it runs, hashed through
// /proc/PID/exe, which is that file whatever its path now names.
type Exe struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size"`
	Note   string `json:"note,omitempty"`
}

// FD is an open descriptor: what its /proc link says.
type FD struct {
	FD     int    `json:"fd"`
	Target string `json:"target"`
}

var nsKinds = []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}

// processes captures every process of the container: those of its init's
// PID namespace (or, when that is ours, of its init's cgroups), each read
// through a /proc/PID directory opened once, so that its files are that
// process's or fail.
func (c *capture) processes() error {
	init := c.o.Process
	var initNS, ownNS unix.Stat_t
	if err := unix.Fstatat(init.Dir(), "ns/pid", &initNS, 0); err != nil {
		c.fail("processes", err)
		return nil
	}
	unix.Stat("/proc/self/ns/pid", &ownNS)
	sharesOurs := initNS.Ino == ownNS.Ino && initNS.Dev == ownNS.Dev
	initCgroups, _, _ := readProc(init.Dir(), "cgroup", maxProcFile)

	procDir, err := os.Open("/proc")
	if err != nil {
		c.fail("processes", err)
		return nil
	}
	names, _ := procDir.Readdirnames(-1)
	procDir.Close()
	var pids []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	hashes := map[[4]uint64]Exe{}
	var list []Process
	for _, pid := range pids {
		if len(list) >= maxProcesses {
			c.truncated = append(c.truncated, fmt.Sprintf("processes.json: the first %d processes", maxProcesses))
			break
		}
		if pid == init.PID() {
			if p, ok := c.process(pid, init.Dir(), hashes); ok {
				list = append(list, p)
			}
			continue
		}
		fd, err := unix.Open("/proc/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone
		}
		var ns unix.Stat_t
		mine := unix.Fstatat(fd, "ns/pid", &ns, 0) == nil && ns.Ino == initNS.Ino && ns.Dev == initNS.Dev
		if mine && sharesOurs {
			cg, _, _ := readProc(fd, "cgroup", maxProcFile)
			mine = bytes.Equal(cg, initCgroups)
		}
		if mine {
			if p, ok := c.process(pid, fd, hashes); ok {
				list = append(list, p)
			}
		}
		unix.Close(fd)
	}
	if list == nil {
		list = []Process{}
	}
	c.procs = list
	return c.b.writeJSON("processes.json", list)
}

// process reads one process, and copies its raw /proc files.
func (c *capture) process(pid, dir int, hashes map[[4]uint64]Exe) (Process, bool) {
	p := Process{PID: pid, Namespaces: map[string]string{}, Capabilities: map[string]string{}}
	status, _, err := readProc(dir, "status", maxProcFile)
	if err != nil {
		return p, false // exited
	}
	raw := fmt.Sprintf("processes/%d/", pid)
	c.b.write(raw+"status", status)
	for _, name := range []string{"stat", "cmdline", "cgroup", "limits", "mountinfo"} {
		c.copyProc(dir, name, raw+name, maxProcFile)
	}
	c.copyProc(dir, "environ", raw+"environ", maxEnviron)
	for _, line := range strings.Split(string(status), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "Name":
			p.Name = printable.String(value)
		case "State":
			p.State = value
		case "PPid":
			p.PPID, _ = strconv.Atoi(value)
		case "Uid":
			p.UID = ints(value)
		case "Gid":
			p.GID = ints(value)
		case "Groups":
			p.Groups = ints(value)
		case "NSpid":
			p.NSPID = ints(value)
		case "Threads":
			p.Threads, _ = strconv.Atoi(value)
		case "CapInh":
			p.Capabilities["inheritable"] = value
		case "CapPrm":
			p.Capabilities["permitted"] = value
		case "CapEff":
			p.Capabilities["effective"] = value
		case "CapBnd":
			p.Capabilities["bounding"] = value
		case "CapAmb":
			p.Capabilities["ambient"] = value
		case "Seccomp":
			p.Seccomp = map[string]string{"0": "disabled", "1": "strict", "2": "filter"}[value]
		case "Seccomp_filters":
			p.SeccompCount, _ = strconv.Atoi(value)
		case "NoNewPrivs":
			p.NoNewPrivs = value == "1"
		}
	}
	if stat, _, err := readProc(dir, "stat", 4096); err == nil {
		// After the command's ")" (which may hold anything): state is
		// field 3, starttime field 22.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
			f := strings.Fields(string(stat[i+1:]))
			if len(f) > 19 {
				p.StartTicks, _ = strconv.ParseUint(f[19], 10, 64)
			}
		}
	}
	if cmdline, truncated, err := readProc(dir, "cmdline", maxProcFile); err == nil {
		p.Cmdline = split0(cmdline)
		if truncated {
			p.Notes = append(p.Notes, "cmdline truncated")
		}
	}
	if environ, truncated, err := readProc(dir, "environ", maxEnviron); err == nil {
		p.Environ = split0(environ)
		if truncated {
			p.Notes = append(p.Notes, fmt.Sprintf("environ truncated at %d bytes", maxEnviron))
		}
	} else {
		p.Notes = append(p.Notes, "environ: "+err.Error())
	}
	p.Cwd = readlink(dir, "cwd")
	p.Root = readlink(dir, "root")
	for _, k := range nsKinds {
		if l := readlink(dir, "ns/"+k); l != "" {
			p.Namespaces[k] = l
		}
	}
	if cg, _, err := readProc(dir, "cgroup", maxProcFile); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
			p.Cgroups = append(p.Cgroups, printable.String(line))
		}
	}
	p.Exe = exe(dir, hashes)
	p.FDs, p.Notes = fds(dir, p.Notes)
	return p, true
}

// exe hashes the process's executable, through /proc/PID/exe: the file
// the kernel runs, never a path resolved in the container's tree.
func exe(dir int, hashes map[[4]uint64]Exe) Exe {
	e := Exe{Path: readlink(dir, "exe")}
	fd, err := unix.Openat(dir, "exe", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		e.Note = "unreadable: " + err.Error()
		return e
	}
	f := os.NewFile(uintptr(fd), "exe")
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		e.Note = "not a regular file"
		return e
	}
	key := [4]uint64{st.Dev, st.Ino, uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec)}
	if known, ok := hashes[key]; ok {
		known.Path = e.Path
		return known
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, maxHash))
	if err != nil {
		e.Note = "unreadable: " + err.Error()
		return e
	}
	e.SHA256, e.Size = hex.EncodeToString(h.Sum(nil)), st.Size
	if n < st.Size {
		e.Note = fmt.Sprintf("sha256 of the first %d bytes only", n)
	}
	hashes[key] = e
	return e
}

// fds lists the process's descriptors and what each is.
func fds(dir int, notes []string) ([]FD, []string) {
	fd, err := unix.Openat(dir, "fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []FD{}, append(notes, "fds: "+err.Error())
	}
	names, err := readNames(fd, maxFDs+1)
	if err != nil {
		unix.Close(fd)
		return []FD{}, append(notes, "fds: "+err.Error())
	}
	if len(names) > maxFDs {
		names = names[:maxFDs]
		notes = append(notes, fmt.Sprintf("fds: the first %d only", maxFDs))
	}
	list := []FD{}
	for _, n := range names {
		num, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if target := readlink(fd, n); target != "" {
			list = append(list, FD{FD: num, Target: target})
		}
	}
	unix.Close(fd)
	sort.Slice(list, func(i, j int) bool { return list[i].FD < list[j].FD })
	return list, notes
}

// readlink reads a /proc link, escaped; "" when it cannot.
func readlink(dir int, name string) string {
	buf := make([]byte, maxLinkTarget)
	n, err := unix.Readlinkat(dir, name, buf)
	if err != nil {
		return ""
	}
	return printable.String(string(buf[:n]))
}

// split0 splits a NUL-separated /proc file (cmdline, environ), escaped.
func split0(data []byte) []string {
	list := []string{}
	if len(data) == 0 {
		return list
	}
	for _, s := range strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00") {
		list = append(list, printable.String(s))
	}
	return list
}

func ints(s string) []int {
	list := []int{}
	for _, f := range strings.Fields(s) {
		if n, err := strconv.Atoi(f); err == nil {
			list = append(list, n)
		}
	}
	return list
}
