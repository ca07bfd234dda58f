package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/passwd"
	"github.com/cnsenter/cnsenter/internal/relay"
	"github.com/cnsenter/cnsenter/plugin"
)

// withUser sets who the program runs as: root, as the issue of docker
// nsenter asks, or --user looked up in the container's own files.
func withUser(req *enter.Request, user string, pid int) error {
	req.UID = enter.ID{Set: true}
	req.GID = enter.ID{Set: true}
	if user == "" {
		return nil
	}
	root, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open the container's root: %w", err)
	}
	defer unix.Close(root)
	u, err := passwd.Lookup(root, user)
	if err != nil {
		return err
	}
	req.UID.Value, req.GID.Value, req.Groups = u.UID, u.GID, u.Groups
	return nil
}

// session runs the entry as our child and waits for it (internal/relay),
// and exits as docker exec does: the program's status, 128+N for signal N.
func session(req enter.Request, container string, pty bool) error {
	p, err := enter.Prepare(req)
	if err != nil {
		return err
	}
	if req.HostTools && relay.IsTerminal(0) {
		fmt.Fprintln(os.Stderr, enter.HostToolsBanner("docker nsenter", container, req.ContainerRoot))
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
	ws, err := relay.Run(p, relay.Options{PTY: pty, ContainerRoot: root, Cancel: cancelled})
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
