package evidence

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cnsenter/cnsenter/runtime"
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
	// The last mount at / is the root; escapes are undone (the kernel's
	// octal ones, \054 for a comma, \134 for the backslash of overlay's
	// own "\:"); data-only layers (::) are layers too.
	table += `300 248 0:9 / / rw - overlay overlay rw,lowerdir=/a\040b:/c\134:d::/e,upperdir=/u\0541,workdir=/w` + "\n"
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

// TestCaptureStopped: a container that runs no process is captured from
// what its engine keeps: its layers' changes, its recorded mounts, its
// state and exit status; no processes, sockets or mount table.
func TestCaptureStopped(t *testing.T) {
	upper, lower := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(lower, "changed"), []byte("old\n"), 0o644)
	os.WriteFile(filepath.Join(upper, "changed"), []byte("new\n"), 0o644)
	os.WriteFile(filepath.Join(upper, "added"), []byte("added\n"), 0o644)
	dir := filepath.Join(t.TempDir(), "bundle")
	code := 139
	_, err := Capture(Options{Dir: dir, Tool: "test", Target: "docker://x",
		Container: runtime.Container{Runtime: "docker", ID: "abc", Name: "x", Status: "exited"},
		Files:     &runtime.Files{Layers: []string{upper, lower}, Mounts: []runtime.Mount{{Source: "/srv", Destination: "/data"}}},
		ExitCode:  &code})
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, "evidence.json"))
	if json.Unmarshal(data, &meta) != nil || meta["state"] != "exited" || meta["exit_code"] != 139.0 || meta["pid"] != 0.0 {
		t.Errorf("evidence.json: %s", data)
	}
	for _, absent := range []string{"processes.json", "network", "mounts/mountinfo"} {
		if _, err := os.Stat(filepath.Join(dir, absent)); err == nil {
			t.Errorf("%s is there", absent)
		}
	}
	if m, _ := os.ReadFile(filepath.Join(dir, "mounts/mounts.json")); !strings.Contains(string(m), `"destination": "/data"`) {
		t.Errorf("mounts/mounts.json: %s", m)
	}
	var layers LayerPaths
	data, _ = os.ReadFile(filepath.Join(dir, "filesystem/layers.json"))
	if json.Unmarshal(data, &layers) != nil || layers.Upper != upper || !reflect.DeepEqual(layers.Lowers, []string{lower}) || layers.Source != "engine" {
		t.Errorf("layers.json: %s", data)
	}
	if c, _ := os.ReadFile(filepath.Join(dir, "filesystem/changes.json")); !strings.Contains(string(c), `"path": "/added"`) || !strings.Contains(string(c), `"change": "changed"`) {
		t.Errorf("changes.json: %s", c)
	}
	// Without files, the capture goes on and says why.
	dir = filepath.Join(t.TempDir(), "bundle")
	if _, err := Capture(Options{Dir: dir, Container: runtime.Container{Runtime: "podman", ID: "abc", Status: "stopped"}, FilesErr: errors.New("no store")}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "evidence.json")); !strings.Contains(string(data), "no store") || strings.Contains(string(data), "exit_code") {
		t.Errorf("evidence.json: %s", data)
	}
}

// fakeProc makes a /proc/PID-like directory: its status with CapBnd bnd,
// ns/user a link to userNS, and mountinfo whose root overlay is root.
func fakeProc(t *testing.T, bnd, userNS, root string) int {
	t.Helper()
	d := t.TempDir()
	os.Mkdir(filepath.Join(d, "ns"), 0o700)
	if err := os.Symlink(userNS, filepath.Join(d, "ns/user")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d, "status"), []byte("Name:\tsh\nCapInh:\t0000000000000000\nCapBnd:\t"+bnd+"\nCapAmb:\t0000000000000000\n"), 0o600)
	os.WriteFile(filepath.Join(d, "mountinfo"), []byte("248 202 0:101 / / rw - overlay overlay rw,"+root+",workdir=/d/x/work\n"), 0o600)
	fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// A container's root mount is believed only when the kernel (its init's
// user namespace and bounding set, through the pin) and its OCI spec both
// say it cannot mount: a rootless engine's spec is its user's to write.
func TestMountinfoLayersFromKernel(t *testing.T) {
	spec := []byte(`{"process":{"capabilities":{"bounding":["CAP_CHOWN"]}},"linux":{"namespaces":[{"type":"mount"}]}}`)
	engine := &LayerPaths{Upper: "/engine/diff", Source: "engine"}
	const noAdmin, admin = "00000000a80425fb", "000001ffffffffff"
	const good = "lowerdir=/d/l/A,upperdir=/d/x/diff"
	hostNS := "/proc/self/ns/user"
	other := filepath.Join(t.TempDir(), "userns")
	os.WriteFile(other, nil, 0o600)

	if l, err := mountinfoLayers(fakeProc(t, noAdmin, hostNS, good), spec, engine); err != nil || l.Source != "mountinfo" || l.Upper != "/d/x/diff" {
		t.Errorf("host user namespace, no CAP_SYS_ADMIN: got %+v %v", l, err)
	}
	for name, dir := range map[string]int{
		"CAP_SYS_ADMIN in CapBnd":     fakeProc(t, admin, hostNS, "upperdir=/etc"),
		"a user namespace of its own": fakeProc(t, noAdmin, other, "upperdir=/etc"),
		"relative lower":              fakeProc(t, noAdmin, hostNS, "lowerdir=../../../etc,upperdir=/d/x/diff"),
		"upper with ..":               fakeProc(t, noAdmin, hostNS, "lowerdir=/d/l/A,upperdir=/d/x/../../../etc"),
		"lower with ..":               fakeProc(t, noAdmin, hostNS, "lowerdir=/d/l/../../etc,upperdir=/d/x/diff"),
	} {
		if l, err := mountinfoLayers(dir, spec, engine); err != nil || l != engine {
			t.Errorf("%s: got %+v %v, want the engine's layers", name, l, err)
		}
		if l, err := mountinfoLayers(dir, spec, nil); err == nil {
			t.Errorf("%s, no engine layers: got %+v", name, l)
		}
	}
}

// A regular file of the layer swapped for a FIFO (or a device node)
// between its Fstatat and its open is not opened: O_PATH opens nothing
// (no IN_OPEN event), and the inode is checked before it is reopened.
func TestOpenRegularSwapped(t *testing.T) {
	d := t.TempDir()
	p := filepath.Join(d, "f")
	os.WriteFile(p, []byte("content"), 0o600)
	dir, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if err := unix.Fstatat(dir, "f", &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Fatal(err)
	}
	f, _, err := openRegular(dir, "f", &st)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()

	os.Remove(p)
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skip("no inotify:", err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, p, unix.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	if f, _, err := openRegular(dir, "f", &st); err == nil {
		f.Close()
		t.Fatal("a FIFO was opened as the regular file")
	}
	buf := make([]byte, 4096)
	if n, err := unix.Read(in, buf); n > 0 || !errors.Is(err, unix.EAGAIN) {
		t.Errorf("the FIFO swapped in was opened (inotify: %d bytes, %v)", n, err)
	}
}

// An existing DIR others may write to (/dev/shm, /tmp: 1777) is refused,
// in one line: they could plant links in it before it is filled.
func TestCheckOthersWrite(t *testing.T) {
	for _, mode := range []uint32{0o1777, 0o770, 0o702} {
		d := filepath.Join(t.TempDir(), "b")
		os.Mkdir(d, 0o700)
		unix.Chmod(d, mode)
		err := Check(d)
		if err == nil || !strings.Contains(err.Error(), "writable by others") || strings.Contains(err.Error(), "\n") {
			t.Errorf("mode %04o: got %v", mode, err)
		}
		if b, err := create(d); err == nil {
			b.close()
			t.Errorf("mode %04o: a bundle was made", mode)
		}
	}
	d := filepath.Join(t.TempDir(), "b")
	os.Mkdir(d, 0o755)
	if err := Check(d); err != nil {
		t.Errorf("mode 0755: %v", err)
	}
}

// A link planted inside the bundle's directory (files -> elsewhere) is
// not followed by any write: mkdir, create, rename, unlink.
func TestBundleLinkNotFollowed(t *testing.T) {
	d := filepath.Join(t.TempDir(), "b")
	b, err := create(d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(d, "files")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(elsewhere, filepath.Join(d, "mounts"))
	if err := b.write("files/sha256/x", []byte("planted")); err == nil {
		t.Error("written through a link")
	}
	if err := b.write("mounts/mountinfo", []byte("planted")); err == nil {
		t.Error("written through a link")
	}
	if err := b.write("partial", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.rename("partial", "files/y"); err == nil {
		t.Error("renamed through a link")
	}
	if names, _ := os.ReadDir(elsewhere); len(names) > 0 {
		t.Errorf("written outside the bundle: %v", names)
	}
	if err := b.write("ok/file", []byte("x")); err != nil {
		t.Errorf("a path of ours: %v", err)
	}
}
