// Package relay runs a prepared entry from a terminal as a child and stays
// with it: it gives the program a pseudo-terminal of its own, relayed to
// ours, as docker exec -t does, and passes signals on. The program then
// never holds our terminal: it cannot push keystrokes into it (TIOCSTI) or
// reach what else is open on it.
package relay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/enter"
)

// forwarded are the signals passed on to the program.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// Options say how to run an entry.
type Options struct {
	// ContainerRoot, a directory descriptor of the container's root, or -1:
	// the pseudo-terminal is opened in the devpts the program sees, the
	// container's when it enters the container's mount namespace (so that
	// tty(1) works there), else the host's.
	ContainerRoot int
	// Cancel, when it fires, sends the program SIGTERM.
	Cancel <-chan struct{}
}

// ContainerRoot opens the root of the container the request enters, when
// the program will see the container's files (its mount namespace entered,
// no host tools), for Options.ContainerRoot; else it gives -1. The caller
// closes what it got.
func ContainerRoot(req enter.Request) (int, error) {
	if _, mount := req.Namespaces[enter.Mount]; !(mount || req.All) || req.HostTools {
		return -1, nil
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/root", req.Target), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("cannot open the container's root: %w", err)
	}
	return fd, nil
}

// Run starts the plan's stage 2 as our child, with a pseudo-terminal
// relayed to ours (stdin must be a terminal), closes the plan, and waits.
// It returns how the child ended; our terminal is as it was.
func Run(p *enter.Plan, o Options) (syscall.WaitStatus, error) {
	cmd, err := p.Command()
	if err != nil {
		p.Close()
		return 0, err
	}
	tty, err := newTerminal(cmd, o.ContainerRoot)
	if err != nil {
		p.Close()
		return 0, err
	}
	defer tty.restore()
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, forwarded...)
	defer signal.Stop(signals)
	err = cmd.Start()
	p.Close()
	tty.closeSlave()
	if err != nil {
		return 0, fmt.Errorf("cannot start the entry: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGWINCH {
				tty.resize()
				continue
			}
			cmd.Process.Signal(sig)
		case <-o.Cancel:
			cmd.Process.Signal(syscall.SIGTERM)
			o.Cancel = nil
		case err := <-done:
			tty.drain()
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || err != nil && !errors.As(err, new(*exec.ExitError)) {
				return 0, err
			}
			return ws, nil
		}
	}
}

// IsTerminal tells whether a descriptor is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// terminal is a pseudo-terminal for the program, relayed to ours: the
// program never holds our terminal, so it cannot push keystrokes into it
// (TIOCSTI) or reach what else is open on it.
type terminal struct {
	master, slave *os.File
	saved         *unix.Termios
	copied        chan struct{}
}

// newTerminal opens a pseudo-terminal in the devpts instance the program
// will see: the container's when it runs in the container's mount
// namespace (so that tty(1) and ttyname(3) work there, as with docker exec
// -t), the host's otherwise.
func newTerminal(cmd *exec.Cmd, containerRoot int) (*terminal, error) {
	master, err := openPTMX(containerRoot)
	if err != nil {
		return nil, fmt.Errorf("cannot open a pseudo-terminal: %w", err)
	}
	t := &terminal{master: master, copied: make(chan struct{})}
	fail := func(err error) (*terminal, error) {
		master.Close()
		if t.slave != nil {
			t.slave.Close()
		}
		return nil, fmt.Errorf("cannot set up a pseudo-terminal: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fail(err)
	}
	// The peer by descriptor, not by a path that would be looked up in the
	// wrong mount namespace.
	slave, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fail(errno)
	}
	t.slave = os.NewFile(slave, "pty")
	t.resize()
	if t.saved, err = unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return fail(err)
	}
	raw := *t.saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(0, unix.TCSETS, &raw); err != nil {
		return fail(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = t.slave, t.slave, t.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	go io.Copy(master, os.Stdin)
	go func() { io.Copy(os.Stdout, master); close(t.copied) }()
	return t, nil
}

// closeSlave drops our copy of the program's side, so that reading the
// master ends when the program's side is closed.
func (t *terminal) closeSlave() { t.slave.Close() }

// openPTMX opens the multiplexer of the container's devpts, found with
// openat2(RESOLVE_IN_ROOT) so that a link in the container cannot send us
// elsewhere on the host, and checked to be a ptmx device (5:2); without a
// container root, the host's.
func openPTMX(root int) (*os.File, error) {
	if root < 0 {
		return os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	var fd int
	var err error
	for _, path := range []string{"dev/pts/ptmx", "dev/ptmx"} {
		fd, err = unix.Openat2(root, path, &unix.OpenHow{
			Flags:   unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the container has no usable /dev/pts/ptmx: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 5 || unix.Minor(st.Rdev) != 2 {
		unix.Close(fd)
		return nil, errors.New("the container's /dev/pts/ptmx is not a pseudo-terminal multiplexer")
	}
	return os.NewFile(uintptr(fd), "ptmx"), nil
}

// drain waits briefly for the program's last output.
func (t *terminal) drain() {
	select {
	case <-t.copied:
	case <-timeAfter():
	}
}

// resize gives the program's terminal our window size.
func (t *terminal) resize() {
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
		unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// restore puts our terminal back as it was; every exit path runs it.
func (t *terminal) restore() {
	if t.saved != nil {
		unix.IoctlSetTermios(0, unix.TCSETS, t.saved)
	}
}

func timeAfter() <-chan time.Time { return time.After(time.Second) }
