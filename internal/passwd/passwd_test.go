package passwd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func root(t *testing.T, passwd, group string) int {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte(passwd), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/group"), []byte(group), 0o644)
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestLookup(t *testing.T) {
	fd := root(t, "root:x:0:0::/:/bin/sh\nweb:x:1234:2345::/:/bin/sh\nbroken line\nbad:x:notanumber:1::/:\n",
		"root:x:0:\nwebgroup:x:2345:\nextra:x:3456:web,other\nmore:x:4567:web\n")
	for spec, want := range map[string]User{
		"root":         {0, 0, []uint32{0}},
		"0":            {0, 0, []uint32{0}},
		"web":          {1234, 2345, []uint32{2345, 3456, 4567}},
		"1234":         {1234, 2345, []uint32{2345, 3456, 4567}},
		"web:extra":    {1234, 3456, []uint32{3456}}, // a group given: no others, as docker exec
		"web:99":       {1234, 99, []uint32{99}},
		"777":          {777, 0, []uint32{0}},
		"777:webgroup": {777, 2345, []uint32{2345}},
	} {
		got, err := Lookup(fd, spec)
		if err != nil || got.UID != want.UID || got.GID != want.GID || !slices.Equal(got.Groups, want.Groups) {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for spec, msg := range map[string]string{"nope": "unable to find user nope", "web:nope": "unable to find group nope", "": "give USER", "web:": "give USER"} {
		if _, err := Lookup(fd, spec); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Lookup(%q): error %v, want %q", spec, err, msg)
		}
	}
	// Docker's --group-add: names in /etc/group, numbers as they are.
	if got, err := LookupGroups(fd, []string{"extra", "99", "webgroup"}); err != nil || !slices.Equal(got, []uint32{3456, 99, 2345}) {
		t.Errorf("LookupGroups = %v, %v", got, err)
	}
	if _, err := LookupGroups(fd, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "unable to find group nope") {
		t.Errorf("LookupGroups(nope): %v", err)
	}
}

// TestLookupStaysInRoot: an image whose /etc/passwd is a symbolic link
// pointing out of its root reads its own files, never the host's.
func TestLookupStaysInRoot(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.MkdirAll(filepath.Join(dir, "host/etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "host/etc/secret"), []byte("evil:x:42:42::/:/bin/sh\n"), 0o644)
	// Inside the root, /../../host/etc/secret is /host/etc/secret: still
	// inside. The host's /etc/shadow-like file outside it is never reached.
	outside := filepath.Join(t.TempDir(), "shadow")
	os.WriteFile(outside, []byte("evil:x:42:42::/:/bin/sh\n"), 0o644)
	os.Symlink("/../../../../../../.."+outside, filepath.Join(dir, "etc/passwd"))
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := Lookup(fd, "evil"); err == nil {
		t.Fatal("the lookup followed a symbolic link out of the container's root")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("root:x:0:0::/:/bin/sh\n", false)
	f.Add("g:x:1:a,b\n", true)
	f.Fuzz(func(t *testing.T, data string, group bool) {
		for _, e := range Parse(strings.NewReader(data), group) {
			if e.Name == "" || strings.ContainsAny(e.Name, ":\n") {
				t.Errorf("bad entry %+v from %q", e, data)
			}
		}
	})
}

// TestHugeAndMalformed: a passwd of 8 MiB with endless lines, binary junk
// and the user past the limit is read up to the limit, without finding
// what is beyond it.
func TestHugeAndMalformed(t *testing.T) {
	junk := strings.Repeat("x:\x00\xff:1:1::/:/bin/sh\n", 1<<15) + strings.Repeat("y", 2<<20) + "\n"
	padding := strings.Repeat("z:x:7:7::/:/bin/sh\n", (8<<20)/19)
	fd := root(t, junk+padding+"late:x:42:42::/:/bin/sh\n", "")
	if _, err := Lookup(fd, "late"); err == nil {
		t.Error("a user past the size limit must not be found")
	}
	if u, err := Lookup(fd, "x"); err != nil || u.UID != 1 {
		t.Errorf("a line with odd bytes in its fields still counts: %+v %v", u, err)
	}
}
