package enter

// The C half of this package (stage2.c) is a constructor: linking the
// package is what puts it into a binary. It runs before the Go runtime and
// takes over only when the binary is re-executed by Plan.Exec.

// #cgo CFLAGS: -O2 -Wall -Wextra -Wno-unused-parameter
import "C"
