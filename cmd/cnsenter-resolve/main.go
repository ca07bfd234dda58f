// Command cnsenter-resolve resolves container references for cnsenter.
//
// It is a program of its own so that the engine clients (gRPC and protobuf
// above all, whose package initialisation alone costs milliseconds) are
// loaded only when a container is named: a PID target never pays for them.
//
//	cnsenter-resolve [ENGINE OPTIONS] REF      print the container as JSON
//	cnsenter-resolve [ENGINE OPTIONS] --list [--json]
//	cnsenter-resolve [ENGINE OPTIONS] --spec NAMESPACE/ID   print a containerd
//	                                   container's OCI spec (for docker nsenter)
//
// ENGINE OPTIONS: --docker-host URL, --containerd-address PATH, --timeout D.
// Errors are one line on stderr, exit status 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/resolve"
)

// errReported is an error already printed.
var errReported = errors.New("")

func main() {
	if err := run(os.Args[1:]); errors.Is(err, errReported) {
		os.Exit(1)
	} else if err != nil {
		fmt.Fprintf(os.Stderr, "cnsenter: %s\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var opts resolve.Options
	if env := os.Getenv("CNSENTER_TIMEOUT"); env != "" {
		d, err := time.ParseDuration(env)
		if err != nil || d <= 0 {
			return fmt.Errorf("CNSENTER_TIMEOUT: '%s' is not a positive duration (for example 5s or 500ms)", env)
		}
		opts.Timeout = d
	}
	var list, asJSON bool
	var spec string
	var refs []string
	for i := 0; i < len(args); i++ {
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", args[i])
			}
			i++
			return args[i], nil
		}
		var err error
		switch args[i] {
		case "--docker-host":
			opts.Docker.Host, err = value()
		case "--containerd-address":
			opts.ContainerdAddress, err = value()
		case "--timeout":
			var v string
			if v, err = value(); err == nil {
				opts.Timeout, err = time.ParseDuration(v)
			}
		case "--list":
			list = true
		case "--spec":
			spec, err = value()
		case "--json":
			asJSON = true
		case "--":
			refs = append(refs, args[i+1:]...)
			i = len(args)
		default:
			refs = append(refs, args[i])
		}
		if err != nil {
			return err
		}
	}
	e := resolve.New(opts)
	defer e.Close()
	if spec != "" {
		return printSpec(e, spec)
	}
	if list {
		return printList(e, asJSON)
	}
	if len(refs) != 1 {
		return errors.New("cnsenter-resolve: give one container reference")
	}
	c, err := e.Resolve(context.Background(), refs[0])
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(c)
}

// printList prints the running containers of every runtime that answers;
// the others are noted on stderr.
func printList(e *resolve.Engines, asJSON bool) error {
	list, errs := e.List(context.Background())
	for _, err := range errs {
		fmt.Fprintf(os.Stderr, "cnsenter: %s\n", err)
	}
	if len(errs) > 0 && len(errs) == e.Runtimes() {
		return errReported // no runtime answered: nothing to list
	}
	if asJSON {
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
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Runtime, c.Namespace, c.Name, id, c.PID, c.Image, c.Status)
	}
	return w.Flush()
}

// printSpec prints the OCI spec of containerd container NAMESPACE/ID.
func printSpec(e *resolve.Engines, ref string) error {
	namespace, id, ok := strings.Cut(ref, "/")
	if !ok || namespace == "" || id == "" {
		return fmt.Errorf("--spec: '%s' is not NAMESPACE/ID", ref)
	}
	c, err := e.Containerd()
	if err != nil {
		return err
	}
	spec, err := c.Spec(context.Background(), namespace, id)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(spec)
}
