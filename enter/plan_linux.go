package enter

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/cnsenter/cnsenter/internal/libexec"
	"golang.org/x/sys/unix"
)

// Stage2 is the path of cnsenter-enter (enter/stage2), the C program that
// enters; empty, it is looked for where libexec.Find looks.
var Stage2 string

const stage2Name = "cnsenter-enter"

func stage2Path() (string, error) {
	if Stage2 != "" {
		return Stage2, nil
	}
	return libexec.Find(stage2Name)
}

// Plan is a Request resolved to open file descriptors: everything that has
// to be looked up in the caller's namespaces is opened here, so that stage 2
// only has to enter and exec.
type Plan struct {
	entries []string // stage 2 plan entries (see stage2.c), descriptors as refs
	fds     []int    // every descriptor the plan holds, in ref order
	program []string
}

// Close releases the plan's descriptors: after a failed Exec, or once the
// Command has started.
func (p *Plan) Close() {
	for _, fd := range p.fds {
		unix.Close(fd)
	}
	p.fds = nil
}

// ref holds a descriptor for stage 2 and stands for it in an entry until the
// entry is rendered: the number it has in stage 2 depends on how stage 2 is
// started (Exec keeps numbers, Command renumbers from 3).
func (p *Plan) ref(fd int) string {
	p.fds = append(p.fds, fd)
	return fmt.Sprintf("\x00%d\x00", len(p.fds)-1)
}

func (p *Plan) add(format string, args ...any) {
	p.entries = append(p.entries, fmt.Sprintf(format, args...))
}

// argv renders stage 2's command line; number gives a ref's descriptor.
func (p *Plan) argv(number func(ref int) int) []string {
	argv := []string{stage2Name}
	// Every descriptor of the plan is closed on exec, used or not.
	all := make([]string, len(p.fds))
	for i := range p.fds {
		all[i] = strconv.Itoa(number(i))
	}
	if len(all) > 0 {
		argv = append(argv, "cloexec="+strings.Join(all, ","))
	}
	for _, e := range p.entries {
		parts := strings.Split(e, "\x00") // text, ref, text, ref, ..., text
		for i := 1; i < len(parts); i += 2 {
			ref, _ := strconv.Atoi(parts[i])
			parts[i] = strconv.Itoa(number(ref))
		}
		argv = append(argv, strings.Join(parts, ""))
	}
	argv = append(argv, "--")
	return append(argv, p.program...)
}

// Exec runs stage 2 in place of this process, as nsenter does: the program
// (or, when it forks, the waiting parent) keeps our PID. It returns only on
// failure.
func (p *Plan) Exec() error {
	path, err := stage2Path()
	if err != nil {
		return err
	}
	for _, fd := range p.fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("cannot pass descriptor %d on: %w", fd, err)
		}
	}
	argv := p.argv(func(ref int) int { return p.fds[ref] })
	err = unix.Exec(path, argv, os.Environ())
	return fmt.Errorf("cannot execute %s to enter the namespaces: %w", path, err)
}

// Command is stage 2 as a child process, for a caller that stays to relay a
// terminal. The caller sets its standard streams, starts it, then closes
// the plan.
func (p *Plan) Command() (*exec.Cmd, error) {
	path, err := stage2Path()
	if err != nil {
		return nil, err
	}
	files := make([]*os.File, len(p.fds))
	for i, fd := range p.fds {
		files[i] = os.NewFile(uintptr(fd), "plan")
	}
	return &exec.Cmd{
		Path:       path,
		Args:       p.argv(func(ref int) int { return 3 + ref }), // ExtraFiles start at 3
		Env:        os.Environ(),
		ExtraFiles: files,
	}, nil
}

// Run prepares and executes a request. It returns only on failure.
func Run(req Request) error {
	p, err := Prepare(req)
	if err != nil {
		return err
	}
	err = p.Exec()
	p.Close()
	return err
}
