package enter

// #cgo LDFLAGS: -lseccomp
// #include <errno.h>
// #include <stdlib.h>
// #include <seccomp.h>
import "C"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Confinement is what makes a process one of the container's own: its
// capabilities, no_new_privileges, LSM profile and seccomp filter, as its
// OCI spec gives them.
type Confinement struct {
	Capabilities    *specs.LinuxCapabilities
	NoNewPrivileges bool
	AppArmorProfile string
	SELinuxLabel    string
	Seccomp         *specs.LinuxSeccomp
}

// capabilityNumbers are the kernel's numbers for the OCI spec's names.
var capabilityNumbers = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
	"CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
	"CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
	"CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
	"CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28,
	"CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32,
	"CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37,
	"CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}

// capabilityMask turns capability names into a bit mask; names this code
// does not know (a newer kernel's) are skipped, as runc skips them.
func capabilityMask(names []string) uint64 {
	var mask uint64
	for _, n := range names {
		if bit, ok := capabilityNumbers[n]; ok {
			mask |= 1 << bit
		}
	}
	return mask
}

// confine adds a confinement to the plan: capability masks, the flags, and
// the seccomp filter compiled to BPF in a memfd that stage 2 installs.
func (p *Plan) confine(c *Confinement) error {
	if caps := c.Capabilities; caps != nil {
		p.add("caps=%x:%x:%x:%x:%x", capabilityMask(caps.Bounding), capabilityMask(caps.Effective),
			capabilityMask(caps.Permitted), capabilityMask(caps.Inheritable), capabilityMask(caps.Ambient))
	}
	if c.NoNewPrivileges {
		p.add("nnp")
	}
	if c.AppArmorProfile != "" && appArmorEnabled() {
		p.add("apparmor=%s", c.AppArmorProfile)
	}
	if c.SELinuxLabel != "" {
		if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
			p.add("label=%s", c.SELinuxLabel)
		}
	}
	if c.AppArmorProfile != "" || c.SELinuxLabel != "" {
		proc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("--confine: cannot open /proc: %w", err)
		}
		p.add("proc=%s", p.ref(proc))
	}
	if c.Seccomp != nil {
		filter, err := compileSeccomp(c.Seccomp)
		if err != nil {
			return fmt.Errorf("--confine: the container's seccomp profile: %w", err)
		}
		p.add("seccomp=%s", p.ref(filter))
	}
	return nil
}

// appArmorEnabled tells whether AppArmor confines processes here; where it
// does not, a profile in the spec was not applied to the container either.
func appArmorEnabled() bool {
	data, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.TrimSpace(string(data)) == "Y"
}

// compileSeccomp turns an OCI seccomp profile into a BPF program with
// libseccomp, returned as a memfd to pass to stage 2.
func compileSeccomp(s *specs.LinuxSeccomp) (int, error) {
	def, err := seccompAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return -1, err
	}
	ctx := C.seccomp_init(def)
	if ctx == nil {
		return -1, errors.New("libseccomp could not start a filter")
	}
	defer C.seccomp_release(ctx)
	for _, arch := range s.Architectures {
		name := C.CString(strings.ToLower(strings.TrimPrefix(string(arch), "SCMP_ARCH_")))
		a := C.seccomp_arch_resolve_name(name)
		C.free(unsafe.Pointer(name))
		if a == 0 {
			continue // an architecture this libseccomp does not know
		}
		if rc := C.seccomp_arch_add(ctx, a); rc != 0 && rc != -C.EEXIST {
			return -1, fmt.Errorf("architecture %s: %w", arch, unix.Errno(-rc))
		}
	}
	for _, sc := range s.Syscalls {
		action, err := seccompAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return -1, err
		}
		if action == def {
			continue // libseccomp refuses rules that repeat the default
		}
		for _, name := range sc.Names {
			cname := C.CString(name)
			nr := C.seccomp_syscall_resolve_name(cname)
			C.free(unsafe.Pointer(cname))
			if nr == C.__NR_SCMP_ERROR {
				continue // not a system call of these architectures
			}
			if err := addRules(ctx, action, nr, sc.Args); err != nil {
				return -1, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	fd, err := unix.MemfdCreate("cnsenter-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, err
	}
	if rc := C.seccomp_export_bpf(ctx, C.int(fd)); rc != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("exporting the filter: %w", unix.Errno(-rc))
	}
	if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// addRules adds the rules of one system call. Conditions on different
// arguments hold together; several on the same argument are alternatives,
// which libseccomp can only express as one rule each (as runc does).
func addRules(ctx C.scmp_filter_ctx, action C.uint32_t, nr C.int, args []specs.LinuxSeccompArg) error {
	conds := make([]C.struct_scmp_arg_cmp, 0, len(args))
	repeated := map[uint]bool{}
	seen := map[uint]bool{}
	for _, a := range args {
		op, ok := map[specs.LinuxSeccompOperator]C.enum_scmp_compare{
			specs.OpNotEqual: C.SCMP_CMP_NE, specs.OpLessThan: C.SCMP_CMP_LT, specs.OpLessEqual: C.SCMP_CMP_LE,
			specs.OpEqualTo: C.SCMP_CMP_EQ, specs.OpGreaterEqual: C.SCMP_CMP_GE, specs.OpGreaterThan: C.SCMP_CMP_GT,
			specs.OpMaskedEqual: C.SCMP_CMP_MASKED_EQ,
		}[a.Op]
		if !ok {
			return fmt.Errorf("unknown comparison %q", a.Op)
		}
		repeated[a.Index] = seen[a.Index]
		seen[a.Index] = true
		conds = append(conds, C.struct_scmp_arg_cmp{arg: C.uint(a.Index), op: op, datum_a: C.scmp_datum_t(a.Value), datum_b: C.scmp_datum_t(a.ValueTwo)})
	}
	add := func(cs []C.struct_scmp_arg_cmp) error {
		var ptr *C.struct_scmp_arg_cmp
		if len(cs) > 0 {
			ptr = &cs[0]
		}
		if rc := C.seccomp_rule_add_array(ctx, action, nr, C.uint(len(cs)), ptr); rc != 0 {
			return unix.Errno(-rc)
		}
		return nil
	}
	anyRepeated := false
	for _, r := range repeated {
		anyRepeated = anyRepeated || r
	}
	if !anyRepeated {
		return add(conds)
	}
	for i := range conds {
		if err := add(conds[i : i+1]); err != nil {
			return err
		}
	}
	return nil
}

func seccompAction(a specs.LinuxSeccompAction, errnoRet *uint) (C.uint32_t, error) {
	code := uint(unix.EPERM)
	if errnoRet != nil {
		code = *errnoRet
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return C.SCMP_ACT_KILL_THREAD, nil
	case specs.ActKillProcess:
		return C.SCMP_ACT_KILL_PROCESS, nil
	case specs.ActTrap:
		return C.SCMP_ACT_TRAP, nil
	case specs.ActErrno:
		return C.uint32_t(0x00050000 | (code & 0xffff)), nil
	case specs.ActTrace:
		return C.uint32_t(0x7ff00000 | (code & 0xffff)), nil
	case specs.ActAllow:
		return C.SCMP_ACT_ALLOW, nil
	case specs.ActLog:
		return C.SCMP_ACT_LOG, nil
	}
	return 0, fmt.Errorf("unsupported action %q", a)
}
