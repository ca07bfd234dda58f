package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/docker"
	"github.com/cnsenter/cnsenter/runtime/resolve"
)

// errReported is an error already printed.
var errReported = errors.New("")

// engines makes the runtime adapters from our options: --docker-host,
// --containerd-address, and --timeout, else CNSENTER_TIMEOUT, else 5s.
// Nothing is dialled until a call.
func engines(inv *invocation) (*resolve.Engines, error) {
	timeout := inv.timeout
	if env := os.Getenv("CNSENTER_TIMEOUT"); timeout == 0 && env != "" {
		var err error
		if timeout, err = parseTimeout(env, "CNSENTER_TIMEOUT"); err != nil {
			return nil, err
		}
	}
	return resolve.New(resolve.Options{
		Docker:            docker.EndpointOptions{Host: inv.dockerHost},
		ContainerdAddress: inv.containerdAddress,
		Timeout:           timeout,
	}), nil
}

// resolveContainer finds the init PID of the container --target names.
func resolveContainer(inv *invocation) (int, error) {
	e, err := engines(inv)
	if err != nil {
		return 0, err
	}
	defer e.Close()
	c, err := e.Resolve(context.Background(), inv.targetRef)
	if err != nil {
		return 0, err
	}
	return found(inv, c), nil
}

// found takes what resolution found: the request names the container (for
// messages, and to check the PID is still its own), the audit records it,
// and a note on how it was found is shown.
func found(inv *invocation, c runtime.Container) int {
	if c.Note != "" {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(c.Note))
	}
	inv.req.Container, inv.req.ContainerID = inv.targetRef, c.ID
	if a := inv.req.Audit; a != nil {
		a.Runtime, a.ContainerID = c.Runtime, c.ID
	}
	return c.PID
}

// listContainers is --list: the running containers of every runtime that
// answers, as a table or (--json) as JSON. A runtime that does not answer
// is one line on stderr; when none answers, there is nothing to list.
func listContainers(inv *invocation) error {
	e, err := engines(inv)
	if err != nil {
		return err
	}
	defer e.Close()
	list, errs := e.List(context.Background())
	for _, err := range errs {
		fmt.Fprintf(os.Stderr, "%s: %s\n", name, printable.String(err.Error()))
	}
	if len(errs) > 0 && len(errs) == e.Runtimes() {
		return errReported
	}
	if inv.json {
		if list == nil {
			list = []runtime.Container{}
		}
		out := json.NewEncoder(os.Stdout)
		out.SetIndent("", "  ")
		return out.Encode(list)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "RUNTIME\tNAMESPACE\tNAME\tID\tPID\tIMAGE\tSTATUS")
	for _, c := range list {
		id := c.ID
		if len(id) > 12 {
			id = id[:12]
		}
		// What the engines say of their containers is shown, never acted on
		// by the terminal.
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Runtime, printable.String(c.Namespace), printable.String(c.Name),
			printable.String(id), c.PID, printable.String(c.Image), printable.String(c.Status))
	}
	return w.Flush()
}
