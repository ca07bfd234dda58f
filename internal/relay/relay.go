// Package relay runs a prepared entry into a container as our child and
// stays with it, so that the program never holds a descriptor of ours that
// leads back to the host: a pseudo-terminal of its own, relayed to ours, as
// docker exec -t gives; or pipes, relayed to our terminal, file or device,
// as docker exec without -t. It passes signals on. The program then cannot
// push keystrokes into our terminal (TIOCSTI, TIOCLINUX), open it again
// (/dev/tty: it starts in a session of its own), or reopen a file of ours
// through /proc/PID/fd (read, truncate).
package relay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cnsenter/cnsenter/enter"
)

// forwarded are the signals passed on to the program, as stage 2's waiting
// parent passes them (enter.ForwardedSignals).
var forwarded = func() []os.Signal {
	var list []os.Signal
	for _, s := range enter.ForwardedSignals {
		list = append(list, s)
	}
	return list
}()

// Options say how to run an entry.
type Options struct {
	// ContainerRoot, a directory descriptor of the container's root, or -1:
	// the pseudo-terminal is opened in the devpts the program sees, the
	// container's when it enters the container's mount namespace (so that
	// tty(1) works there), else the host's.
	ContainerRoot int
	// Cancel, when it fires, sends the program SIGTERM.
	Cancel <-chan struct{}
	// TTY: the program gets a pseudo-terminal of its own (docker exec -t);
	// else its 0, 1 and 2 are ours where Passable, pipes relayed by us
	// where not.
	TTY bool
	// Stdin: our standard input is the program's (docker exec -i); with TTY
	// it must be a terminal, which is set raw for the session. Without, the
	// program's is empty: /dev/null, or with TTY its terminal, which nobody
	// types into.
	Stdin bool
	// DetachKeys, with TTY and Stdin: typing them ends the relay and leaves
	// the program running (docker's detach keys); Run then returns
	// ErrDetached.
	DetachKeys []byte
}

// ErrDetached: the user typed the detach keys; the program runs on.
var ErrDetached = errors.New("detached")

// ContainerRoot opens the root of the container the request enters, when
// the program will see the container's files (its mount namespace entered,
// no host tools), for Options.ContainerRoot; else it gives -1. The caller
// closes what it got. It is the one place the relay opens a /proc/PID file
// of the target.
func ContainerRoot(req enter.Request) (int, error) {
	if _, mount := req.Namespaces[enter.Mount]; !(mount || req.All) || req.HostTools {
		return -1, nil
	}
	if req.Process == nil {
		return -1, errors.New("internal error: the container's init is not pinned")
	}
	fd, err := unix.Openat(req.Process.Dir(), "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("cannot open the container's root: %w", err)
	}
	return fd, nil
}

// Run starts the plan's stage 2 as our child, in a session of its own (no
// controlling terminal: /dev/tty opens nothing of ours), with a
// pseudo-terminal or pipes relayed to our descriptors, closes the plan,
// and waits. It returns how the child ended (or ErrDetached); our terminal
// is as it was.
func Run(p *enter.Plan, o Options) (syscall.WaitStatus, error) {
	cmd, err := p.Command()
	if err != nil {
		p.Close()
		return 0, err
	}
	var tty *terminal
	var out *pipes
	if o.TTY {
		tty, err = newTerminal(cmd, o)
	} else {
		out, err = newPipes(cmd, o.Stdin)
	}
	if err != nil {
		p.Close()
		return 0, err
	}
	if tty != nil {
		defer tty.restore()
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, forwarded...)
	defer signal.Stop(signals)
	if out != nil {
		// The entry dies with us (there is no detaching without a
		// terminal): the signal is sent when the thread that started it
		// ends, so that thread stays ours.
		runtime.LockOSThread()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	}
	err = cmd.Start()
	p.Close()
	if tty != nil {
		tty.closeSlave()
	} else {
		out.closeChildEnds()
	}
	if err != nil {
		return 0, fmt.Errorf("cannot start the entry: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var detach <-chan struct{}
	if tty != nil {
		detach = tty.detach
	}
	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGWINCH {
				if tty != nil {
					tty.resize()
				}
				continue
			}
			cmd.Process.Signal(sig)
		case <-o.Cancel:
			cmd.Process.Signal(syscall.SIGTERM)
			o.Cancel = nil
		case <-detach:
			// The program keeps its terminal: a keeper process holds the
			// master (closing it would hang the program up) and reads what
			// the program writes, as the engine's shim does for docker.
			if err := keep(tty.master); err != nil {
				return 0, err
			}
			return 0, ErrDetached
		case err := <-done:
			if tty != nil {
				tty.drain()
			} else {
				out.drain()
			}
			ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || err != nil && !errors.As(err, new(*exec.ExitError)) {
				return 0, err
			}
			return ws, nil
		}
	}
}

// Background starts the plan's stage 2 in the background (docker exec
// -d): in a session of its own, with /dev/null as its 0, 1 and 2, and does
// not wait for it. It closes the plan.
func Background(p *enter.Plan) error {
	cmd, err := p.Command()
	if err != nil {
		p.Close()
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	p.Close()
	if err != nil {
		return fmt.Errorf("cannot start the entry: %w", err)
	}
	cmd.Process.Release()
	return nil
}

// Passable tells whether a descriptor may be handed to a container's
// program as it is: an anonymous pipe, a socket or /dev/null (or nothing
// open), none of which gives a process in the container a host file,
// device or terminal to reopen through /proc/PID/fd or to send ioctls to.
// A terminal, a regular file (which a process could reopen to read or
// truncate), a directory, a named FIFO, a block or other character device
// is not.
func Passable(fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err == unix.EBADF
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		return true
	case unix.S_IFIFO:
		var fs unix.Statfs_t
		return unix.Fstatfs(fd, &fs) == nil && fs.Type == unix.PIPEFS_MAGIC
	case unix.S_IFCHR:
		return unix.Major(st.Rdev) == 1 && unix.Minor(st.Rdev) == 3
	}
	return false
}

// DropControllingTerminal is for a caller that execs a container's program
// in its own place: the program must not be able to open our controlling
// terminal through /dev/tty. We give it up (TIOCNOTTY), staying in its
// foreground process group, so that ctrl-C still reaches the program. It
// returns false when that cannot be done: we lead the terminal's session,
// and giving it up would hang it up; the caller relays instead, and the
// program starts in a session of its own.
func DropControllingTerminal() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENXIO {
		return true // none
	}
	if err != nil {
		// No /dev/tty to ask: whether we have a terminal is field 7 of
		// /proc/self/stat.
		return controllingTTY() == 0
	}
	defer unix.Close(fd)
	if sid, err := unix.Getsid(0); err != nil || sid == unix.Getpid() {
		return false
	}
	return unix.IoctlSetInt(fd, unix.TIOCNOTTY, 0) == nil
}

// controllingTTY is the device number of our controlling terminal, 0 for
// none, -1 when it cannot be read.
func controllingTTY() int {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')') // the command name may hold anything
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:]) // state ppid pgrp session tty_nr
	if len(f) < 5 {
		return -1
	}
	n, err := strconv.Atoi(f[4])
	if err != nil {
		return -1
	}
	return n
}

// NullStdin gives us /dev/null as standard input, for a program that must
// not read ours (docker exec without -i) and is executed in our place.
func NullStdin() error {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open /dev/null: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Dup3(fd, 0, 0); err != nil {
		return fmt.Errorf("cannot give the program an empty stdin: %w", err)
	}
	return nil
}

// pipes relay the program's standard streams that may not be passed on.
type pipes struct {
	childEnds []*os.File     // closed once the child has them
	outputs   sync.WaitGroup // the copies of its output
}

func newPipes(cmd *exec.Cmd, stdin bool) (*pipes, error) {
	p := &pipes{}
	fail := func(err error) (*pipes, error) {
		p.closeChildEnds()
		return nil, fmt.Errorf("cannot make a pipe for the program: %w", err)
	}
	// Without stdin, os/exec gives the child /dev/null.
	if stdin && isOpen(0) {
		if Passable(0) {
			cmd.Stdin = os.Stdin
		} else {
			r, w, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			cmd.Stdin = r
			p.childEnds = append(p.childEnds, r)
			// Not waited for: a terminal read may never end.
			go func() { io.Copy(w, os.Stdin); w.Close() }()
		}
	}
	for _, s := range []struct {
		ours *os.File
		set  *io.Writer
	}{{os.Stdout, &cmd.Stdout}, {os.Stderr, &cmd.Stderr}} {
		if !isOpen(int(s.ours.Fd())) {
			continue // /dev/null
		}
		if Passable(int(s.ours.Fd())) {
			*s.set = s.ours
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return fail(err)
		}
		*s.set = w
		p.childEnds = append(p.childEnds, w)
		p.outputs.Add(1)
		go func(ours *os.File) {
			io.Copy(ours, r)
			r.Close()
			p.outputs.Done()
		}(s.ours)
	}
	return p, nil
}

func isOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

func (p *pipes) closeChildEnds() {
	for _, f := range p.childEnds {
		f.Close()
	}
	p.childEnds = nil
}

// drain waits briefly for the program's last output (a process it left
// behind may hold its pipe open).
func (p *pipes) drain() {
	copied := make(chan struct{})
	go func() { p.outputs.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-timeAfter():
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
	detach        chan struct{} // closed when the detach keys are typed
}

// newTerminal opens a pseudo-terminal in the devpts instance the program
// will see: the container's when it runs in the container's mount
// namespace (so that tty(1) and ttyname(3) work there, as with docker exec
// -t), the host's otherwise.
func newTerminal(cmd *exec.Cmd, o Options) (*terminal, error) {
	master, err := openPTMX(o.ContainerRoot)
	if err != nil {
		return nil, fmt.Errorf("cannot open a pseudo-terminal: %w", err)
	}
	t := &terminal{master: master, copied: make(chan struct{}), detach: make(chan struct{})}
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
	if o.Stdin {
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
		go t.copyInput(o.DetachKeys)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = t.slave, t.slave, t.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	go func() { io.Copy(os.Stdout, master); close(t.copied) }()
	return t, nil
}

// copyInput copies what we type to the program. Bytes that begin the
// detach keys are held back until the keys are complete (the relay then
// detaches) or another byte shows they were not meant as such (they are
// passed on with it), as docker does.
func (t *terminal) copyInput(keys []byte) {
	buf := make([]byte, 4096)
	matched := 0
	for {
		n, err := os.Stdin.Read(buf)
		if n > 0 {
			out := make([]byte, 0, n+len(keys))
			for _, b := range buf[:n] {
				if len(keys) > 0 && b == keys[matched] {
					matched++
					if matched == len(keys) {
						t.master.Write(out)
						close(t.detach)
						return
					}
					continue
				}
				out = append(out, keys[:matched]...)
				matched = 0
				if len(keys) > 0 && b == keys[0] {
					matched = 1
					if len(keys) == 1 {
						t.master.Write(out)
						close(t.detach)
						return
					}
					continue
				}
				out = append(out, b)
			}
			if _, err := t.master.Write(out); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// ParseDetachKeys reads docker's syntax for detach keys: a comma list of
// single characters and ctrl-X (X one of a-z, @, [, \, ], ^, _).
func ParseDetachKeys(keys string) ([]byte, error) {
	var codes []byte
	for _, key := range strings.Split(keys, ",") {
		switch {
		case len(key) == 1:
			codes = append(codes, key[0])
		case len(key) == 6 && strings.HasPrefix(key, "ctrl-"):
			c := key[5]
			switch {
			case c >= 'a' && c <= 'z':
				codes = append(codes, c-'a'+1)
			case strings.IndexByte("@[\\]^_", c) >= 0:
				codes = append(codes, c-'@')
			default:
				return nil, fmt.Errorf("unknown key %q in the detach keys %q: use a comma list of characters and ctrl-X, X one of a-z, @, [, \\, ], ^, _ (default ctrl-p,ctrl-q)", key, keys)
			}
		default:
			return nil, fmt.Errorf("unknown key %q in the detach keys %q: use a comma list of characters and ctrl-X, X one of a-z, @, [, \\, ], ^, _ (default ctrl-p,ctrl-q)", key, keys)
		}
	}
	return codes, nil
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

// resize gives the program's terminal our window size: that of the first
// of our 0, 1 and 2 that is a terminal.
func (t *terminal) resize() {
	for fd := 0; fd <= 2; fd++ {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil {
			unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
			return
		}
	}
}

// restore puts our terminal back as it was; every exit path runs it.
func (t *terminal) restore() {
	if t.saved != nil {
		unix.IoctlSetTermios(0, unix.TCSETS, t.saved)
	}
}

// keeperEnv, set to 1, makes our program a keeper (see Keeper).
const keeperEnv = "CNSENTER_PTY_KEEPER"

// keep hands the master of a detached program's terminal to a keeper: our
// own program started again, in a session of its own, which runs Keeper.
func keep(master *os.File) error {
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{"cnsenter-pty-keeper"},
		Env:         []string{keeperEnv + "=1"},
		ExtraFiles:  []*os.File{master}, // 3
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot leave the program running: %w", err)
	}
	cmd.Process.Release()
	return nil
}

// Keeper is called first in a command that can detach: started as a
// keeper, it holds a detached program's terminal (descriptor 3) and reads
// what the program writes to it, so that the program never blocks on it,
// until the program and its children have closed it; then it exits.
func Keeper() {
	if os.Getenv(keeperEnv) != "1" {
		return
	}
	io.Copy(io.Discard, os.NewFile(3, "pty"))
	os.Exit(0)
}

func timeAfter() <-chan time.Time { return time.After(time.Second) }
