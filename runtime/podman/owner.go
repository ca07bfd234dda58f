package podman

import (
	"github.com/cnsenter/cnsenter/internal/procfs"

	"bytes"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
)

// conmon is what a running container's conmon process says of it on its
// command line: Podman starts one per running container, as the user who
// runs the container, with the container's ID (-c), name (-n), bundle
// (-b, in the graph root) and pidfile (-p, in the run root). Anybody may
// read a command line; what it says is only believed of the store its
// owner owns (see Adapter.trusted).
type conmon struct {
	pid, uid                  int
	id, name, bundle, pidfile string
}

// conmons lists the conmon processes under proc.
func conmons(proc string) []conmon {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var list []conmon
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		dir := filepath.Join(proc, e.Name())
		comm, err := os.ReadFile(filepath.Join(dir, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "conmon" {
			continue
		}
		st, err := os.Stat(dir)
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		c := conmon{pid: pid, uid: owner(st)}
		args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "-c", "--cid":
				c.id = args[i+1]
			case "-n", "--name":
				c.name = args[i+1]
			case "-b", "--bundle":
				c.bundle = args[i+1]
			case "-p", "--container-pidfile":
				c.pidfile = args[i+1]
			}
		}
		if cgroupname.IsID(c.id) {
			list = append(list, c)
		}
	}
	return list
}

// store is the store the conmon's container is in: the graph root above
// its bundle (ROOT/DRIVER-containers/ID/userdata), the run root above its
// pidfile (RUNROOT/DRIVER-containers/ID/userdata/pidfile).
func (c conmon) store() (string, string, bool) {
	root, ok1 := above(c.bundle, c.id, "userdata")
	run, ok2 := above(strings.TrimSuffix(c.pidfile, "/pidfile"), c.id, "userdata")
	return root, run, ok1 && ok2 && filepath.IsAbs(root) && filepath.IsAbs(run)
}

func above(path, id, last string) (string, bool) {
	path = filepath.Clean(path)
	if filepath.Base(path) != last {
		return "", false
	}
	path = filepath.Dir(path)
	if filepath.Base(path) != id {
		return "", false
	}
	path = filepath.Dir(path)
	if !strings.HasSuffix(filepath.Base(path), "-containers") {
		return "", false
	}
	return filepath.Dir(path), true
}

// owner is the uid owning a file.
func owner(st os.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}

// whose names a uid for messages: "root's (uid 0)", "alice's (uid 1001)".
func whose(uid int) string {
	name := "user " + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		name = u.Username
	}
	return name + "'s (uid " + strconv.Itoa(uid) + ")"
}

// inUserNamespaceOf tells whether process pid runs in a user namespace
// that uid owns (created), other than the initial one: the container of a
// rootless Podman, or anything else that uid already holds every right
// over. A store that uid owns can name no other process to us.
func inUserNamespaceOf(proc string, pid, uid int) bool {
	fd, err := unix.Open(filepath.Join(proc, strconv.Itoa(pid), "ns", "user"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	got, err := unix.IoctlGetUint32(fd, unix.NS_GET_OWNER_UID)
	if err != nil || int(got) != uid {
		return false
	}
	// The initial user namespace has no parent; its "owner" is 0.
	parent, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
	if err != nil {
		return false
	}
	unix.Close(parent)
	return true
}

// childOfConmon tells whether process pid is the child of the conmon
// process whose PID the container's conmon.pid holds, a conmon of that
// container (-c ID): what proves a rootless container's init when it has
// no cgroup of its own (cgroup v1 gives rootless Podman none). The
// conmon.pid is in the store (or named by the service) of uid, read as
// readBeneath reads it.
func childOfConmon(proc string, pid int, conmonPidfile, id string, uid int) bool {
	if !filepath.IsAbs(conmonPidfile) {
		return false
	}
	data, err := readBeneath(filepath.Dir(conmonPidfile), filepath.Base(conmonPidfile), uid, pidLimit)
	if err != nil {
		return false
	}
	cpid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || cpid <= 0 {
		return false
	}
	stat, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	if st, err := procfs.ParseStat(stat); err != nil || st.PPID != cpid {
		return false
	}
	cmdline, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(cpid), "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(string(cmdline), "\x00")
	for i := 0; i+1 < len(args); i++ {
		if (args[i] == "-c" || args[i] == "--cid") && args[i+1] == id {
			return true
		}
	}
	return false
}
