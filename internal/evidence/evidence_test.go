package evidence

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRootOverlay(t *testing.T) {
	table := `248 202 0:101 / / rw,relatime master:6 - overlay overlay rw,lowerdir=/d/l/A:/d/l/B,upperdir=/d/x/diff,workdir=/d/x/work
249 248 0:104 / /proc rw,nosuid - proc proc rw
`
	got, err := RootOverlay(table)
	want := &LayerPaths{Upper: "/d/x/diff", Lowers: []string{"/d/l/A", "/d/l/B"}, Source: "mountinfo"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v %v", got, err)
	}
	// The last mount at / is the root; escapes are undone; data-only
	// layers (::) are layers too.
	table += `300 248 0:9 / / rw - overlay overlay rw,lowerdir=/a\040b:/c\:d::/e,upperdir=/u\,1,workdir=/w` + "\n"
	got, err = RootOverlay(table)
	want = &LayerPaths{Upper: "/u,1", Lowers: []string{"/a b", "/c:d", "/e"}, Source: "mountinfo"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v %v", got, err)
	}
	for _, bad := range []string{
		"1 0 0:1 / / rw - ext4 /dev/vda rw\n",
		"1 0 0:1 / /x rw - overlay overlay rw,upperdir=/u\n",
		"1 0 0:1 / / rw - overlay overlay rw,lowerdir=/a\n",
	} {
		if l, err := RootOverlay(bad); err == nil {
			t.Errorf("%q: got %+v", bad, l)
		}
	}
}

func TestHexEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0016":                         "0.0.0.0:22",
		"00000000000000000000000001000000:0050": "[::1]:80",
	} {
		if got, err := hexEndpoint(in); err != nil || got != want {
			t.Errorf("%s: got %q %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "zz:1", "0100007F", "01:1"} {
		if got, err := hexEndpoint(bad); err == nil {
			t.Errorf("%q: got %q", bad, got)
		}
	}
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0 100 0 0 10 0\n"
	got := parseSockets("tcp", table, map[uint64][]int{12345: {7}})
	if len(got) != 1 || got[0].Local != "127.0.0.1:8080" || got[0].State != "LISTEN" || !reflect.DeepEqual(got[0].PIDs, []int{7}) {
		t.Errorf("got %+v", got)
	}
}

func TestCanMount(t *testing.T) {
	for spec, want := range map[string]bool{
		``: true,
		`{"process":{"capabilities":{"bounding":["CAP_CHOWN"]}}}`:                               false,
		`{"process":{"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_ADMIN"]}}}`:               true,
		`{"process":{"capabilities":{"bounding":[]}},"linux":{"namespaces":[{"type":"user"}]}}`: true,
		`{"process":{}}`: true,
	} {
		var s []byte
		if spec != "" {
			s = []byte(spec)
		}
		if got := canMount(s); got != want {
			t.Errorf("%s: got %v", spec, got)
		}
	}
}

// TestDiff: a writable layer against two image layers, made here as
// overlay makes them: changed, added, deleted (a 0:0 whiteout), an opaque
// directory, a link never followed, a file deleted by the image's own top
// layer.
func TestDiff(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: whiteouts are device nodes, opaque directories trusted xattrs")
	}
	dir := t.TempDir()
	upper, top, bottom := filepath.Join(dir, "upper"), filepath.Join(dir, "top"), filepath.Join(dir, "bottom")
	write := func(p, s string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bottom, "etc/a"), "a")
	write(filepath.Join(bottom, "etc/gone"), "g")
	write(filepath.Join(bottom, "opaque/old"), "o")
	write(filepath.Join(bottom, "was"), "w")
	write(filepath.Join(top, "etc/b"), "b")
	if err := unix.Mknod(filepath.Join(top, "was"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(upper, "etc/a"), "changed")
	write(filepath.Join(upper, "new"), "added")
	write(filepath.Join(upper, "was"), "again") // deleted by the image's top layer: added back
	unix.Mknod(filepath.Join(upper, "etc/gone"), unix.S_IFCHR, 0)
	os.MkdirAll(filepath.Join(upper, "opaque"), 0o755)
	if err := unix.Setxattr(filepath.Join(upper, "opaque"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("no trusted xattrs here: %v", err)
	}
	write(filepath.Join(upper, "opaque/fresh"), "f")
	os.Symlink("/etc/shadow", filepath.Join(upper, "link"))
	open := func(p string) int {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	var got []string
	truncated, err := Diff(Layers{Upper: open(upper), Lowers: []int{open(top), open(bottom)}}, nil, func(c Change) {
		s := c.Kind + " " + c.Type + " " + c.Path
		if c.Opaque {
			s += " opaque"
		}
		if c.Link != "" {
			s += " -> " + c.Link
		}
		if c.SHA256 != "" {
			s += " " + c.SHA256[:8]
		}
		got = append(got, s)
	})
	want := []string{
		"changed dir /etc",
		"changed file /etc/a d67e2e94", // sha256("changed")
		"deleted file /etc/gone",
		"added symlink /link -> /etc/shadow",
		"added file /new 279b8a60", // sha256("added")
		"changed dir /opaque opaque",
		"added file /opaque/fresh 252f10c8", // sha256("f")
		"added file /was b4c9e140",          // sha256("again")
	}
	if err != nil || truncated || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s\n(%v %v)", strings.Join(got, "\n"), strings.Join(want, "\n"), err, truncated)
	}
}
