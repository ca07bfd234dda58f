package docker

import (
	"github.com/cnsenter/cnsenter/internal/procfs"

	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnsenter/cnsenter/runtime"
)

// When dockerd is down or hung, its containers usually run on (containerd
// and the shims keep them), and what it knows of them is on disk:
// DATA-ROOT/containers/ID/config.v2.json holds each container's ID, name
// and state, init PID included. Resolving from there lets a debugging tool
// work when the daemon does not. The caller verifies that the PID is still
// the container's (enter checks its cgroups).

// DataRoot finds the data root of the dockerd that serves host: from the
// arguments of that dockerd if it runs (--data-root, else data-root in its
// --config-file), else CNSENTER_DOCKER_ROOT, else data-root in
// /etc/docker/daemon.json, else /var/lib/docker.
func DataRoot(host string) string {
	if args := dockerdArgs(host); args != nil {
		if root := procfs.Flag(args, "--data-root"); root != "" {
			return root
		}
		if root := configDataRoot(procfs.Flag(args, "--config-file")); root != "" {
			return root
		}
		return "/var/lib/docker"
	}
	if root := os.Getenv("CNSENTER_DOCKER_ROOT"); root != "" {
		return root
	}
	if root := configDataRoot(""); root != "" {
		return root
	}
	return "/var/lib/docker"
}

// dockerdArgs returns the arguments of the running dockerd listening on
// host (dockerd without -H listens on DefaultHost), or nil.
func dockerdArgs(host string) []string {
	for _, args := range procfs.Programs("/proc", "dockerd") {
		hosts := procfs.Flags(args[1:], "-H", "--host")
		if len(hosts) == 0 {
			hosts = []string{DefaultHost}
		}
		for _, h := range hosts {
			if h == host || strings.TrimPrefix(h, "unix://") == strings.TrimPrefix(host, "unix://") {
				return args[1:]
			}
		}
	}
	return nil
}

// configDataRoot reads data-root from a daemon.json (default
// /etc/docker/daemon.json).
func configDataRoot(path string) string {
	if path == "" {
		path = "/etc/docker/daemon.json"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var config struct {
		DataRoot string `json:"data-root"`
	}
	json.Unmarshal(data, &config)
	return config.DataRoot
}

// onDisk is the part of config.v2.json that is used.
type onDisk struct {
	ID     string
	Name   string
	Config struct{ Image string }
	State  struct {
		Running, Paused, Dead bool
		Pid                   int
		StartedAt             string
	}
}

// ResolveOnDisk finds a container by name, ID or unique ID prefix in the
// state dockerd keeps under root.
func ResolveOnDisk(root, name string) (runtime.Container, error) {
	ref := "docker://" + name
	dirs, err := os.ReadDir(filepath.Join(root, "containers"))
	if err != nil {
		return runtime.Container{}, &runtime.Error{Runtime: "docker", Endpoint: root, Ref: ref,
			Detail: fmt.Sprintf("dockerd's state on disk: %v (CNSENTER_DOCKER_ROOT names its data root)", err), Err: err}
	}
	var matches []onDisk
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(root, "containers", d.Name(), "config.v2.json"))
		if err != nil {
			continue
		}
		var c onDisk
		if json.Unmarshal(data, &c) != nil || c.ID == "" {
			continue
		}
		if strings.TrimPrefix(c.Name, "/") == name || c.ID == name {
			matches = []onDisk{c}
			break
		}
		if strings.HasPrefix(c.ID, name) {
			matches = append(matches, c)
		}
	}
	switch {
	case len(matches) == 0:
		return runtime.Container{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "docker", Endpoint: root, Ref: ref,
			Detail: "no such container in dockerd's state on disk (" + root + ")"}
	case len(matches) > 1:
		return runtime.Container{}, &runtime.Error{Kind: runtime.Ambiguous, Runtime: "docker", Endpoint: root, Ref: ref,
			Detail: "the ID prefix matches several containers"}
	}
	c := matches[0]
	found := container(c.ID, c.Name, c.Config.Image)
	found.PID, found.Status = c.State.Pid, "running"
	// docker exec --user's --group-add groups, kept beside it.
	var host struct{ GroupAdd []string }
	if data, err := os.ReadFile(filepath.Join(root, "containers", c.ID, "hostconfig.json")); err == nil && json.Unmarshal(data, &host) == nil {
		found.GroupAdd = host.GroupAdd
	}
	if !c.State.Running || c.State.Pid <= 0 {
		// As the API words it: never started, dead, else exited.
		switch {
		case c.State.Dead:
			found.Status = "dead"
		case c.State.StartedAt == "" || strings.HasPrefix(c.State.StartedAt, "0001-01-01"):
			found.Status = "created"
		default:
			found.Status = "exited"
		}
		return found, notRunning(root, found, "is not running ("+found.Status+")")
	}
	if c.State.Paused {
		return found, notRunning(root, found, "is paused")
	}
	return found, nil
}
