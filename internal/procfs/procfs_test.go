package procfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	s, err := ParseStat([]byte("42 (a) b) (c) S 7 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10"))
	if err != nil || s.PPID != 7 || s.Start != 12345 {
		t.Errorf("ParseStat = %+v, %v", s, err)
	}
	for _, bad := range []string{"", "42 (a S 7", "42 (a) S 7", "42 (a) S x " + strings.Repeat("0 ", 20)} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q) took it", bad)
		}
	}
}

func TestPrograms(t *testing.T) {
	proc := t.TempDir()
	for pid, cmdline := range map[string]string{"10": "/usr/bin/dockerd\x00-H\x00unix:///x.sock\x00", "11": "dockerd-rootless\x00", "12": "", "self": "dockerd\x00"} {
		os.MkdirAll(filepath.Join(proc, pid), 0o755)
		os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(cmdline), 0o644)
	}
	got := Programs(proc, "dockerd")
	if len(got) != 1 || strings.Join(got[10], " ") != "/usr/bin/dockerd -H unix:///x.sock" {
		t.Errorf("Programs = %v", got)
	}
}

func TestFlags(t *testing.T) {
	args := []string{"-H", "unix:///a.sock", "--host=tcp://x", "--root", "/r", "-H"}
	if got := Flags(args, "-H", "--host"); strings.Join(got, " ") != "unix:///a.sock tcp://x" {
		t.Errorf("Flags = %q", got)
	}
	if Flag(args, "--root") != "/r" || Flag(args, "--config") != "" {
		t.Errorf("Flag: %q %q", Flag(args, "--root"), Flag(args, "--config"))
	}
}
