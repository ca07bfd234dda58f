// Command attacker is what a hostile container runs in a session: it tries
// to push a command line into the caller's terminal, one character at a
// time with TIOCSTI and by pasting a selection with TIOCLINUX (on a virtual
// console), through each of its descriptors 0, 1 and 2 and through
// /dev/tty, its controlling terminal. It says what each attempt gave, and
// exits 0. The test builds it static (CGO_ENABLED=0), standard library only.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

const (
	tiocsti   = 0x5412
	tioclinux = 0x541C
)

func main() {
	// Spelled in two pieces, so that this program's own output never holds
	// what the test looks for.
	line := "echo INJ" + "ECTED-by-the-container\n"
	fds := []int{0, 1, 2}
	if tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		fds = append(fds, int(tty.Fd()))
	} else {
		fmt.Fprintf(os.Stderr, "/dev/tty: %v\n", err)
	}
	for _, fd := range fds {
		var failed error
		for i := 0; i < len(line); i++ {
			c := line[i]
			if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tiocsti, uintptr(unsafe.Pointer(&c))); errno != 0 {
				failed = errno
				break
			}
		}
		paste := byte(3) // TIOCL_PASTESEL
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tioclinux, uintptr(unsafe.Pointer(&paste)))
		fmt.Fprintf(os.Stderr, "fd %d: TIOCSTI %v, TIOCLINUX %v\n", fd, failed, errno)
	}
}
