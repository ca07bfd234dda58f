package enter

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// pidfdSetnsWorks tells whether setns(2) takes a pidfd (Linux 5.8).
// CNSENTER_NO_PIDFD_SETNS=1 forces the /proc/PID/ns path, for tests.
func pidfdSetnsWorks() bool {
	if os.Getenv("CNSENTER_NO_PIDFD_SETNS") == "1" {
		return false
	}
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	major, minor := kernelVersion(unix.ByteSliceToString(u.Release[:]))
	return major > pidfdSetnsMajor || major == pidfdSetnsMajor && minor >= pidfdSetnsMinor
}

func kernelVersion(release string) (major, minor int) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0
	}
	return leadingInt(parts[0]), leadingInt(parts[1])
}

// leadingInt reads the digits a string starts with ("8-rc1" is 8).
func leadingInt(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// kernelHas tells whether the running kernel has a namespace kind.
func kernelHas(k Kind) bool {
	_, err := os.Stat("/proc/self/ns/" + string(k))
	return !errors.Is(err, fs.ErrNotExist)
}

// memfd returns a memory file holding content, read from its start.
func memfd(name, content string) (int, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return -1, err
	}
	for b := []byte(content); len(b) > 0; {
		n, err := unix.Write(fd, b)
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		b = b[n:]
	}
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
