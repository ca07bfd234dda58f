package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/enter"
	"github.com/cnsenter/cnsenter/internal/freeze"
	"github.com/cnsenter/cnsenter/internal/printable"
	"github.com/cnsenter/cnsenter/internal/relay"
	"github.com/cnsenter/cnsenter/plugin"
)

// stdio are docker exec's flags for the program's standard streams.
type stdio struct {
	interactive bool   // -i: our stdin is the program's
	tty         bool   // -t: a pseudo-terminal of its own
	detach      bool   // -d: in the background, none of ours
	detachKeys  string // --detach-keys, with -it
}

// defaultDetachKeys are docker's.
const defaultDetachKeys = "ctrl-p,ctrl-q"

// A keeper of a detached program's terminal is this program started again
// (internal/relay).
func init() { relay.Keeper() }

// A watchdog that thaws a frozen container when we die is this program
// started again (internal/freeze).
func init() { freeze.Watchdog() }

// session enters the container, and ends as docker exec does: the
// program's status, 128+N for signal N. The program never holds a
// descriptor of ours that leads back to the host: with -t it gets a
// pseudo-terminal of its own; else each of 0, 1 and 2 that is not a pipe, a
// socket or /dev/null (a terminal, a file, a device) is relayed through a
// pipe. Then we stay, as the entry's parent (internal/relay). When there is
// nothing to relay, stage 2 runs in our place, as cnsenter's does, watching
// the docker CLI's socket to end the program with SIGTERM when the user
// cancels: one process and one fork fewer (about 1 ms of each command).
func session(req enter.Request, container string, s stdio, frozen bool) error {
	o := relay.Options{TTY: s.tty, Stdin: s.interactive}
	keys := s.detachKeys
	if keys == "" {
		keys = defaultDetachKeys
	}
	detachKeys, err := relay.ParseDetachKeys(keys)
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker nsenter: --detach-keys: %s\n", err)
		return errUsage
	}
	if s.tty && s.interactive && !s.detach {
		if !relay.IsTerminal(0) {
			return errors.New("the input device is not a TTY: -i with -t needs a terminal on stdin (without -t, stdin is passed through a pipe)")
		}
		o.DetachKeys = detachKeys
	}
	// A frozen container's session keeps us as the entry's parent, to
	// thaw it when the program ends.
	relayed := !s.detach && (frozen || s.tty || s.interactive && !relay.Passable(0) || !relay.Passable(1) || !relay.Passable(2) || !relay.DropControllingTerminal())
	if !relayed && !s.detach {
		req.StatusForSignal = true
		if req.Cancel = plugin.CancelSocket(); req.Cancel != nil {
			defer req.Cancel.Close() // the plan holds its own copy
		}
	}
	p, err := enter.Prepare(req)
	if err != nil {
		return err
	}
	if req.HostTools && relay.IsTerminal(0) && !s.detach {
		fmt.Fprintln(os.Stderr, printable.String(enter.HostToolsBanner("docker nsenter", container, req.ContainerRoot)))
	}
	if s.detach {
		return relay.Background(p)
	}
	if !relayed {
		if !s.interactive {
			if err := relay.NullStdin(); err != nil {
				p.Close()
				return err
			}
		}
		err := p.Exec()
		p.Close()
		return err
	}
	root := -1
	if o.TTY {
		if root, err = relay.ContainerRoot(req); err != nil {
			p.Close()
			return err
		}
		if root >= 0 {
			defer unix.Close(root)
		}
	}
	o.ContainerRoot = root
	cancelled := make(chan struct{}, 1)
	plugin.WatchCancel(func() { cancelled <- struct{}{} })
	o.Cancel = cancelled
	ws, err := relay.Run(p, o)
	switch {
	case errors.Is(err, relay.ErrDetached):
		return nil
	case err != nil:
		return err
	case ws.Signaled():
		return exitError{128 + int(ws.Signal())}
	case ws.ExitStatus() != 0:
		return exitError{ws.ExitStatus()}
	}
	return nil
}
