// Command capdrop is a hostile container's init for the end-to-end tests:
// it lowers its own capability bounding set (PR_CAPBSET_DROP, which
// CAP_SETPCAP, in Docker's default set, allows) by the capabilities named
// on its command line, then sleeps. The container's other processes (every
// docker exec, whatever it forks) keep the whole set of the container's
// spec: the init's bounding set then says less than what the container's
// processes hold. Standard library and x/sys only; built static.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The bounding set is a thread's: /proc/PID/status shows the main
// thread's, so the drop is made there.
func init() { runtime.LockOSThread() }

func main() {
	for _, a := range os.Args[1:] {
		c, err := strconv.Atoi(a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "capdrop: not a capability number:", a)
			os.Exit(2)
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			fmt.Fprintln(os.Stderr, "capdrop:", err)
			os.Exit(1)
		}
	}
	for {
		time.Sleep(time.Hour)
	}
}
