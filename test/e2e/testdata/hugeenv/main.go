// Command hugeenv is a container's init that points its own environment,
// what /proc/PID/environ shows, at a gigabyte of memory that it never
// touches (so that it costs nothing), then sleeps: whoever reads that file
// to its end reads a gigabyte of zeros. prctl(PR_SET_MM, PR_SET_MM_MAP)
// needs no privilege when the executable stays (exe_fd -1). It prints
// "ready", or "refused: WHY" when the kernel does not let it.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmMap is the kernel's struct prctl_mm_map.
type mmMap struct {
	StartCode, EndCode, StartData, EndData uint64
	StartBrk, Brk, StartStack              uint64
	ArgStart, ArgEnd, EnvStart, EnvEnd     uint64
	Auxv                                   uint64
	AuxvSize, ExeFD                        uint32
}

func main() {
	if err := point(1 << 30); err != nil {
		fmt.Println("refused:", err)
	} else {
		fmt.Println("ready")
	}
	for {
		time.Sleep(time.Hour)
	}
}

func point(size int) error {
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return err
	}
	// Fields from the state on (field 3), after the command's name.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	field := func(n int) uint64 { v, _ := strconv.ParseUint(f[n-3], 10, 64); return v }
	brk, _, _ := unix.Syscall(unix.SYS_BRK, 0, 0, 0)
	m := mmMap{
		StartCode: field(26), EndCode: field(27), StartStack: field(28),
		StartData: field(45), EndData: field(46), StartBrk: field(47), Brk: uint64(brk),
		ArgStart: field(48), ArgEnd: field(49),
		EnvStart: uint64(uintptr(unsafe.Pointer(&mem[0]))), EnvEnd: uint64(uintptr(unsafe.Pointer(&mem[0]))) + uint64(size),
		ExeFD: ^uint32(0),
	}
	if _, _, e := unix.Syscall6(unix.SYS_PRCTL, unix.PR_SET_MM, unix.PR_SET_MM_MAP, uintptr(unsafe.Pointer(&m)), unsafe.Sizeof(m), 0, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_MM, PR_SET_MM_MAP) as uid %d: %w", os.Getuid(), e)
	}
	return nil
}
