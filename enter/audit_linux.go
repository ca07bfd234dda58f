package enter

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// audit writes the start record and has stage 2 fork, so that a waiting
// parent is there to write the end record with the program's status. A log
// that cannot be written stops the entry before anything is entered.
func (p *Plan) audit(req Request, t *target, want map[Kind]bool) error {
	fd, err := unix.Open(req.Audit.Path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", req.Audit.Path, err)
	}
	ref := p.ref(fd)
	var session [8]byte
	unix.Getrandom(session[:], 0)
	common := map[string]any{
		"session": fmt.Sprintf("%x", session),
		"target":  req.Audit.Target,
	}
	if t != nil {
		common["pid"] = t.pid
	}
	if req.Audit.Runtime != "" {
		common["runtime"], common["container_id"] = req.Audit.Runtime, req.Audit.ContainerID
	}
	start := map[string]any{
		"event": "start", "time": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"uid": os.Getuid(), "login_uid": loginUID(),
		"cgroup_joined": req.JoinCgroup, "read_only": req.ReadOnly, "host_tools": req.HostTools,
		"command": req.Program,
	}
	if req.Audit.Freeze != "" {
		start["freeze"] = req.Audit.Freeze
	}
	var kinds []string
	for _, k := range Kinds {
		if want[k] {
			kinds = append(kinds, string(k))
		}
	}
	start["namespaces"] = kinds
	for k, v := range common {
		start[k] = v
	}
	line, err := json.Marshal(start)
	if err != nil {
		return err
	}
	if _, err := unix.Write(fd, append(line, '\n')); err != nil {
		return fmt.Errorf("audit log %s: %w", req.Audit.Path, err)
	}
	common["event"] = "end"
	end, _ := json.Marshal(common)
	// The end record is this object less its "}", completed by stage 2.
	p.add("audit=%s:%s,", ref, end[:len(end)-1])
	if !slices.Contains(p.entries, "fork") {
		p.add("fork")
	}
	return nil
}

// loginUID is the login uid the kernel's audit keeps for our session, -1
// when there is none.
func loginUID() int64 {
	data, err := os.ReadFile("/proc/self/loginuid")
	if err != nil {
		return -1
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
	if err != nil || id == 1<<32-1 {
		return -1
	}
	return int64(id)
}

// LoginUID is the login uid the kernel's audit keeps for our session, -1
// when there is none.
func LoginUID() int64 { return loginUID() }

// AuditRecord completes a record of an event that is not a session's (an
// evidence capture) with the audit's common fields and a session id, and
// appends it to the audit log, when there is one, in one O_APPEND write.
// It returns the line.
func AuditRecord(a *Audit, record map[string]any) ([]byte, error) {
	var session [8]byte
	unix.Getrandom(session[:], 0)
	record["session"] = fmt.Sprintf("%x", session)
	if a != nil {
		record["target"] = a.Target
		if a.Runtime != "" {
			record["runtime"], record["container_id"] = a.Runtime, a.ContainerID
		}
	}
	line, err := json.Marshal(record)
	if err != nil {
		return nil, err
	}
	line = append(line, '\n')
	if a == nil || a.Path == "" {
		return line, nil
	}
	fd, err := unix.Open(a.Path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", a.Path, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, line); err != nil {
		return nil, fmt.Errorf("audit log %s: %w", a.Path, err)
	}
	return line, nil
}
