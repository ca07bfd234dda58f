// Command pause is the whole of the demo image: one static binary that
// waits to be stopped. With it, the image has no shell and no tools, which
// is what host-tools mode is for.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
