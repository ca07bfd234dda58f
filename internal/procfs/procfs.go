// Package procfs reads what cnsenter needs of /proc/PID files (proc(5)):
// stat's parent and start time, and command lines.
package procfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stat is what is read of /proc/PID/stat.
type Stat struct {
	PPID  int    // field 4
	Start uint64 // field 22, in clock ticks since boot
}

// ParseStat reads a /proc/PID/stat. Its fields are read after the
// command's closing parenthesis, the last one: the command may hold
// anything, a ")" and spaces included.
func ParseStat(stat []byte) (Stat, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return Stat{}, errors.New("no command in stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return Stat{}, errors.New("stat too short")
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil || ppid < 0 {
		return Stat{}, errors.New("no parent in stat")
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return Stat{}, errors.New("no start time in stat")
	}
	return Stat{PPID: ppid, Start: start}, nil
}

// Args splits a /proc/PID/cmdline into its arguments.
func Args(cmdline []byte) []string {
	if len(cmdline) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
}

// Programs returns the arguments of every process of a /proc (proc: "/proc"
// or another, for tests) whose program's file name is name ("dockerd"),
// by PID.
func Programs(proc, name string) map[int][]string {
	found := map[int][]string{}
	entries, _ := os.ReadDir(proc)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(proc, e.Name(), "cmdline"))
		if args := Args(data); err == nil && len(args) > 0 && filepath.Base(args[0]) == name {
			found[pid] = args
		}
	}
	return found
}

// Flags are the values a command line gives an option, "--name value" or
// "--name=value", under any of its names, in order.
func Flags(args []string, names ...string) []string {
	var values []string
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				values = append(values, args[i+1])
			} else if v, ok := strings.CutPrefix(a, n+"="); ok {
				values = append(values, v)
			}
		}
	}
	return values
}

// Flag is the last value a command line gives an option (the one a program
// takes), "" when none.
func Flag(args []string, names ...string) string {
	if v := Flags(args, names...); len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}
