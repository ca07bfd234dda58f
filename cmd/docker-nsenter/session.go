package main

import (
	"fmt"
	"os"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/passwd"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/internal/relay"
	"github.com/cnsenter/cnsenter/plugin"
)

// withUser sets who the program runs as from --user, looked up in the
// container's own files, as docker exec does: with USER alone, the groups
// that list the user too; then the container's --group-add groups, which
// docker gives every process of the container.
func withUser(req *enter.Request, user string, pid int, groupAdd []string) error {
	root, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open the container's root: %w", err)
	}
	defer unix.Close(root)
	u, err := passwd.Lookup(root, user)
	if err != nil {
		return err
	}
	extra, err := passwd.LookupGroups(root, groupAdd)
	if err != nil {
		return fmt.Errorf("the container's --group-add: %w", err)
	}
	for _, g := range extra {
		if !slices.Contains(u.Groups, g) {
			u.Groups = append(u.Groups, g)
		}
	}
	req.UID = enter.ID{Set: true, Value: u.UID}
	req.GID = enter.ID{Set: true, Value: u.GID}
	req.Groups = u.Groups
	return nil
}

// session enters the container, and ends as docker exec does: the
// program's status, 128+N for signal N. With a terminal to relay (pty and
// stdin a terminal) it stays, as the entry's parent (internal/relay);
// otherwise stage 2 runs in its place, as cnsenter's does, watching the
// docker CLI's socket to end the program with SIGTERM when the user
// cancels: one process and one fork fewer (about 1 ms of each command).
func session(req enter.Request, container string, pty bool) error {
	relayed := pty && relay.IsTerminal(0)
	if !relayed {
		req.StatusForSignal = true
		if req.Cancel = plugin.CancelSocket(); req.Cancel != nil {
			defer req.Cancel.Close() // the plan holds its own copy
		}
	}
	p, err := enter.Prepare(req)
	if err != nil {
		return err
	}
	if req.HostTools && relay.IsTerminal(0) {
		fmt.Fprintln(os.Stderr, printable.String(enter.HostToolsBanner("docker nsenter", container, req.ContainerRoot)))
	}
	if !relayed {
		err := p.Exec()
		p.Close()
		return err
	}
	root, err := relay.ContainerRoot(req)
	if err != nil {
		p.Close()
		return err
	}
	if root >= 0 {
		defer unix.Close(root)
	}
	cancelled := make(chan struct{}, 1)
	plugin.WatchCancel(func() { cancelled <- struct{}{} })
	ws, err := relay.Run(p, relay.Options{ContainerRoot: root, Cancel: cancelled})
	switch {
	case err != nil:
		return err
	case ws.Signaled():
		return exitError{128 + int(ws.Signal())}
	case ws.ExitStatus() != 0:
		return exitError{ws.ExitStatus()}
	}
	return nil
}
