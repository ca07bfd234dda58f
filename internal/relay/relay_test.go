package relay

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	for keys, want := range map[string]string{
		"ctrl-p,ctrl-q": "\x10\x11",
		"ctrl-x,x":      "\x18x",
		"ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_": "\x00\x1b\x1c\x1d\x1e\x1f",
		"a": "a",
	} {
		if got, err := ParseDetachKeys(keys); err != nil || string(got) != want {
			t.Errorf("%q: want %q, got %q %v", keys, want, got, err)
		}
	}
	for _, keys := range []string{"", "ctrl-", "ctrl-1", "ab", "ctrl-p,,ctrl-q"} {
		if got, err := ParseDetachKeys(keys); err == nil {
			t.Errorf("%q: want an error, got %q", keys, got)
		}
	}
}

func TestPassable(t *testing.T) {
	open := func(path string, flag int) int {
		f, err := os.OpenFile(path, flag, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return int(f.Fd())
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		fd   int
		want bool
	}{
		"pipe":         {int(w.Fd()), true},
		"/dev/null":    {open("/dev/null", os.O_WRONLY), true},
		"regular file": {open(filepath.Join(dir, "f"), os.O_WRONLY|os.O_CREATE), false},
		"directory":    {open(dir, os.O_RDONLY), false},
		"named FIFO":   {open(filepath.Join(dir, "fifo"), os.O_RDWR), false},
		"/dev/zero":    {open("/dev/zero", os.O_RDONLY), false},
		"closed":       {1000, true},
	} {
		if got := Passable(c.fd); got != c.want {
			t.Errorf("%s: want %v, got %v", name, c.want, got)
		}
	}
}
