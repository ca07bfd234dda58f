// cnsenter-attach is the first program of kubectl nsenter's helper pod:
//
//	cnsenter-attach [--stdin] -- PROGRAM [ARG...]
//
// It waits for one byte on its stdin, which kubectl nsenter sends once it
// is attached, then runs PROGRAM (cnsenter) in its place. A container's
// output before an attach is lost, and the helper cannot know when the
// caller's attach is there otherwise. A terminal is made raw first, and
// stays so (see gate).
// Without --stdin, PROGRAM gets /dev/null as its stdin (the caller did not
// ask for -i). Exit status 125 when nobody attached (end of input first).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	args := os.Args[1:]
	stdin := false
	if len(args) > 0 && args[0] == "--stdin" {
		stdin, args = true, args[1:]
	}
	if len(args) < 2 || args[0] != "--" {
		fail("usage: cnsenter-attach [--stdin] -- PROGRAM [ARG...]")
	}
	args = args[1:]
	if err := gate(); err != nil {
		fmt.Fprintln(os.Stderr, "cnsenter-attach:", err)
		os.Exit(125)
	}
	if !stdin {
		null, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
		if err != nil {
			fail("/dev/null: " + err.Error())
		}
		if err := unix.Dup2(null, 0); err != nil {
			fail("/dev/null: " + err.Error())
		}
		unix.Close(null)
	}
	prog, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "cnsenter-attach:", err)
		os.Exit(127)
	}
	err = unix.Exec(prog, args, os.Environ())
	fmt.Fprintf(os.Stderr, "cnsenter-attach: %s: %v\n", prog, err)
	os.Exit(126)
}

// gate reads exactly one byte of fd 0 (not a keystroke of the caller's).
func gate() error {
	t, terr := unix.IoctlGetTermios(0, unix.TCGETS)
	if terr == nil {
		// Raw for good, not only for the gate: the line discipline that
		// matters is that of the program's own pseudo-terminal, which
		// cnsenter makes and relays; this one, the helper container's,
		// must pass every byte (Ctrl-C a byte for the program, not a
		// SIGINT for cnsenter) and echo nothing, as the caller's own
		// terminal does for kubectl exec -t.
		raw := *t
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if err := unix.IoctlSetTermios(0, unix.TCSETS, &raw); err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
	}
	var winch chan os.Signal
	if terr == nil {
		winch = make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		defer signal.Stop(winch)
	}
	var b [1]byte
	for {
		n, err := unix.Read(0, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("waiting for kubectl nsenter to attach: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("nobody attached (end of input)")
		}
		if winch != nil {
			sized(winch)
		}
		return nil
	}
}

// sized waits, on a terminal that has no size yet, until the caller's
// first one arrives (the attach carries size and input on separate
// streams, in no set order): a program asking at once would see 0x0. A
// caller that sends none (not a terminal of its own) costs a second.
func sized(winch chan os.Signal) {
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err != nil || ws.Row != 0 || ws.Col != 0 {
		return
	}
	select {
	case <-winch:
	case <-time.After(time.Second):
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "cnsenter-attach:", msg)
	os.Exit(125)
}
