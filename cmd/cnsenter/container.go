package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/cnsenter/cnsenter/internal/libexec"
	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/docker"
	"github.com/cnsenter/cnsenter/runtime/ref"
)

// errReported is an error the resolver has already printed.
var errReported = errors.New("")

// resolver finds cnsenter-resolve, which holds the engine clients (see its
// package comment): CNSENTER_RESOLVE, else where libexec.Find looks.
func resolver() (string, error) {
	if path := os.Getenv("CNSENTER_RESOLVE"); path != "" {
		return path, nil
	}
	path, err := libexec.Find("cnsenter-resolve")
	if err != nil {
		return "", fmt.Errorf("container references need cnsenter-resolve: %w", err)
	}
	return path, nil
}

// resolverArgs passes the engine options on.
func resolverArgs(inv *invocation) []string {
	var args []string
	if inv.dockerHost != "" {
		args = append(args, "--docker-host", inv.dockerHost)
	}
	if inv.containerdAddress != "" {
		args = append(args, "--containerd-address", inv.containerdAddress)
	}
	if inv.timeout != 0 {
		args = append(args, "--timeout", inv.timeout.String())
	}
	return args
}

// resolveContainer finds the init PID of the container --target names.
func resolveContainer(inv *invocation) (int, error) {
	return resolveWith(inv, strings.HasPrefix(inv.targetRef, "docker://"))
}

// resolveWith resolves docker:// here when inProcess, else anything with
// cnsenter-resolve.
func resolveWith(inv *invocation, inProcess bool) (int, error) {
	if inProcess {
		return resolveDocker(inv)
	}
	path, err := resolver()
	if err != nil {
		return 0, err
	}
	var out bytes.Buffer
	cmd := exec.Command(path, append(resolverArgs(inv), "--", inv.targetRef)...)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 1 {
			return 0, errReported
		}
		return 0, fmt.Errorf("running %s: %w", path, err)
	}
	var c runtime.Container
	if err := json.Unmarshal(out.Bytes(), &c); err != nil || c.PID <= 0 {
		return 0, fmt.Errorf("%s gave no PID for %s: %q", path, inv.targetRef, out.String())
	}
	return found(inv, c), nil
}

// found takes what resolution found: the request names the container (for
// messages, and to check the PID is still its own), the audit records it,
// and a note on how it was found is shown.
func found(inv *invocation, c runtime.Container) int {
	if c.Note != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, c.Note)
	}
	inv.req.Container, inv.req.ContainerID = inv.targetRef, c.ID
	if a := inv.req.Audit; a != nil {
		a.Runtime, a.ContainerID = c.Runtime, c.ID
	}
	return c.PID
}

// resolveDocker resolves docker:// here: the Engine API needs only net/http,
// one round trip, and no second program.
func resolveDocker(inv *invocation) (int, error) {
	r, err := ref.Parse(inv.targetRef, "")
	if err != nil {
		return 0, err
	}
	host, err := docker.Endpoint(docker.EndpointOptions{Host: inv.dockerHost})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", inv.targetRef, err)
	}
	timeout := inv.timeout
	if timeout == 0 {
		if env := os.Getenv("CNSENTER_TIMEOUT"); env != "" {
			if timeout, err = parseTimeout(env, "CNSENTER_TIMEOUT"); err != nil {
				return 0, err
			}
		} else {
			timeout = 5 * time.Second
		}
	}
	d, err := docker.New(host, timeout)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	c, err := d.Resolve(context.Background(), r.Name)
	if err != nil {
		return 0, err
	}
	if c.Note != "" {
		// dockerd did not answer: the resolver has containerd's client,
		// to confirm the PID in Docker's own containerd namespace.
		return resolveWith(inv, false)
	}
	return found(inv, c), nil
}

// listContainers becomes the resolver's --list.
func listContainers(inv *invocation) error {
	path, err := resolver()
	if err != nil {
		return err
	}
	args := append([]string{path}, resolverArgs(inv)...)
	args = append(args, "--list")
	if inv.json {
		args = append(args, "--json")
	}
	return syscall.Exec(path, args, os.Environ())
}
