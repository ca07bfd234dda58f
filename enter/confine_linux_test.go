package enter

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCompileSeccomp(t *testing.T) {
	two := uint(2)
	fd, err := compileSeccomp(&specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "no_such_call"}, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0, Op: specs.OpEqualTo}, {Index: 0, Value: 8, Op: specs.OpEqualTo}}},
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0x7e020000, Op: specs.OpMaskedEqual}}},
			{Names: []string{"ptrace"}, Action: specs.ActErrno, ErrnoRet: &two},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Size == 0 || st.Size%8 != 0 {
		t.Errorf("want a BPF program (8-byte instructions), got %d bytes: %v", st.Size, err)
	}
	if _, err := compileSeccomp(&specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"}); err == nil {
		t.Error("an unknown action must be refused")
	}
}

// FuzzCompileSeccomp: whatever a container's spec says, compiling its
// seccomp profile gives a filter or an error, never a crash.
func FuzzCompileSeccomp(f *testing.F) {
	f.Add(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`)
	f.Add(`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"syscalls":[{"names":["clone"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_MASKED_EQ"}]}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		var s specs.LinuxSeccomp
		if json.Unmarshal([]byte(data), &s) != nil {
			return
		}
		if fd, err := compileSeccomp(&s); err == nil {
			unix.Close(fd)
		}
	})
}
