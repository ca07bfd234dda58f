package enter

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
// the seccomp profile in a memfd, which stage 2 compiles and installs.
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
		profile, err := seccompProfile(c.Seccomp)
		if err != nil {
			return fmt.Errorf("--confine: the container's seccomp profile: %w", err)
		}
		fd, err := memfd("cnsenter-seccomp-profile", profile)
		if err != nil {
			return fmt.Errorf("--confine: cannot pass the seccomp profile on: %w", err)
		}
		p.add("seccomp=%s", p.ref(fd))
		if dir, err := openSeccompCache(); err == nil {
			p.add("seccompcache=%s:%x", p.ref(dir), sha256.Sum256([]byte(profile)))
		}
	}
	return nil
}

// seccompCacheDir is where stage 2 keeps the filters it compiled, for a caller
// with euid 0: a root-only directory on the host's /run, a tmpfs, so that
// it is dropped at reboot. Compiling Docker's default profile with
// libseccomp costs about 12 ms of CPU on every session; reading the filter
// back costs microseconds (see enter/stage2/seccomp.c).
const seccompCacheDir = "/run/cnsenter/seccomp"

// openSeccompCache opens the cache directory for stage 2, making it (and
// its parent) if missing, or fails when it cannot be trusted: a caller that
// is not root, a directory or parent that is not a directory owned by uid 0
// with mode 0700, or a link. A failure only means that the profile is
// compiled, as without a cache. CNSENTER_SECCOMP_CACHE, in the caller's
// environment (never the container's), moves it, for tests.
func openSeccompCache() (int, error) {
	if os.Geteuid() != 0 {
		return -1, errors.New("not root")
	}
	dir := seccompCacheDir
	if d := os.Getenv("CNSENTER_SECCOMP_CACHE"); d != "" {
		dir = d
	}
	parent, err := rootOnlyDir(unix.AT_FDCWD, filepath.Dir(dir))
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	return rootOnlyDir(parent, filepath.Base(dir))
}

// rootOnlyDir opens the directory name at at, making it if missing, and
// checks that only root can change what is in it.
func rootOnlyDir(at int, name string) (int, error) {
	open := func() (int, error) {
		return unix.Openat(at, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	fd, err := open()
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdirat(at, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, err
		}
		fd, err = open()
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Uid != 0 || st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o7777 != 0o700 {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: not a directory of root's with mode 0700", name)
	}
	return fd, nil
}

// appArmorEnabled tells whether AppArmor confines processes here; where it
// does not, a profile in the spec was not applied to the container either.
func appArmorEnabled() bool {
	data, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.TrimSpace(string(data)) == "Y"
}

// seccompProfile writes an OCI seccomp profile in the terms of libseccomp,
// which stage 2 links (see enter/stage2/seccomp.c for the format): actions
// and operators as libseccomp's numbers, alternatives as separate rules.
func seccompProfile(s *specs.LinuxSeccomp) (string, error) {
	def, err := seccompAction(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "default %d\n", def)
	for _, arch := range s.Architectures {
		name := strings.ToLower(strings.TrimPrefix(string(arch), "SCMP_ARCH_"))
		if isWord(name) { // anything else is no architecture libseccomp knows
			fmt.Fprintf(&b, "arch %s\n", name)
		}
	}
	for _, sc := range s.Syscalls {
		action, err := seccompAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return "", err
		}
		if action == def {
			continue // libseccomp refuses rules that repeat the default
		}
		rules, err := conditions(sc.Args)
		if err != nil {
			return "", err
		}
		for _, name := range sc.Names {
			if !isWord(name) {
				continue // no system call has such a name
			}
			for _, rule := range rules {
				fmt.Fprintf(&b, "rule %d %s%s\n", action, name, rule)
			}
		}
	}
	return b.String(), nil
}

// isWord tells whether a name can stand in one field of the profile.
func isWord(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\n\r\x00")
}

// The comparison operators, as libseccomp's enum scmp_compare numbers them.
var seccompOperators = map[specs.LinuxSeccompOperator]int{
	specs.OpNotEqual: 1, specs.OpLessThan: 2, specs.OpLessEqual: 3, specs.OpEqualTo: 4,
	specs.OpGreaterEqual: 5, specs.OpGreaterThan: 6, specs.OpMaskedEqual: 7,
}

// conditions renders a system call's argument conditions, each rule's as
// " ARG:OP:A:B...". Conditions on different arguments hold together;
// several on the same argument are alternatives, which libseccomp can only
// express as one rule each (as runc does).
func conditions(args []specs.LinuxSeccompArg) ([]string, error) {
	if len(args) > 6 {
		return nil, fmt.Errorf("%d conditions on a system call of at most 6 arguments", len(args))
	}
	each := make([]string, len(args))
	seen := map[uint]bool{}
	repeated := false
	for i, a := range args {
		op, ok := seccompOperators[a.Op]
		if !ok {
			return nil, fmt.Errorf("unknown comparison %q", a.Op)
		}
		if a.Index > 5 {
			return nil, fmt.Errorf("a condition on argument %d of a system call (at most 6 arguments)", a.Index)
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		each[i] = fmt.Sprintf(" %d:%d:%d:%d", a.Index, op, a.Value, a.ValueTwo)
	}
	if repeated {
		return each, nil
	}
	return []string{strings.Join(each, "")}, nil
}

// libseccomp's action numbers.
const (
	actKillThread  = 0x00000000
	actKillProcess = 0x80000000
	actTrap        = 0x00030000
	actErrno       = 0x00050000 // | errno
	actTrace       = 0x7ff00000 // | message
	actLog         = 0x7ffc0000
	actAllow       = 0x7fff0000
)

func seccompAction(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	code := uint32(unix.EPERM)
	if errnoRet != nil {
		code = uint32(*errnoRet)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return actKillThread, nil
	case specs.ActKillProcess:
		return actKillProcess, nil
	case specs.ActTrap:
		return actTrap, nil
	case specs.ActErrno:
		return actErrno | code&0xffff, nil
	case specs.ActTrace:
		return actTrace | code&0xffff, nil
	case specs.ActAllow:
		return actAllow, nil
	case specs.ActLog:
		return actLog, nil
	}
	return 0, fmt.Errorf("unsupported action %q", a)
}

// AllCapabilities names every capability this code knows that is in our
// bounding set: all that a process we start can be given (asking for one
// we lack would make capset fail, as docker exec --privileged fails on a
// host whose bounding set lacks one).
func AllCapabilities() []string {
	var names []string
	for name, bit := range capabilityNumbers {
		if r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(bit), 0, 0, 0); err == nil && r == 1 {
			names = append(names, name)
		}
	}
	return names
}
