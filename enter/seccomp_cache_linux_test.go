package enter

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// allowAll is a valid seccomp filter that lets every call through: one
// instruction, BPF_RET|BPF_K SECCOMP_RET_ALLOW. Planted in the cache under
// the key of a profile that refuses mkdir, it shows which filter stage 2
// installed: the cached one when mkdir works.
var allowAll = func() []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint16(b[0:], 0x06)       // BPF_RET | BPF_K
	binary.LittleEndian.PutUint32(b[4:], 0x7fff0000) // SECCOMP_RET_ALLOW
	return b
}()

// TestSeccompCache: stage 2 keeps the filter it compiled in the cache
// directory and installs it from there the next time; it never trusts a
// file or a directory that someone but root could have written, or that is
// no filter, and never leaves a half-written file.
func TestSeccompCache(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: only root uses the cache, and entering a namespace needs it")
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the planted filter is written little-endian")
	}
	target := exec.Command("sleep", "1000")
	if err := target.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o700); err != nil { // as /run/cnsenter
		t.Fatal(err)
	}
	cache := filepath.Join(parent, "seccomp")
	t.Setenv("CNSENTER_SECCOMP_CACHE", cache)
	work := t.TempDir()
	made := filepath.Join(work, "made")
	enosys := uint(38)
	profile := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &enosys}}}
	// refused runs mkdir under the profile and tells whether the filter
	// refused it (the compiled one) or not (the planted one).
	refused := func(what string) bool {
		t.Helper()
		os.Remove(made)
		stderr, err := runEntry(t, Request{Target: target.Process.Pid, Namespaces: map[Kind]string{UTS: ""},
			Confine: &Confinement{Seccomp: profile}, Program: []string{"mkdir", made}})
		if err == nil {
			os.Remove(made)
			return false
		}
		if !strings.Contains(stderr, "not implemented") {
			t.Fatalf("%s: %v, %q", what, err, stderr)
		}
		return true
	}
	// only returns the one file in the cache, checking that there is no
	// other (no temporary file left).
	only := func(what string) (string, os.FileInfo) {
		t.Helper()
		entries, err := os.ReadDir(cache)
		if err != nil || len(entries) != 1 {
			t.Fatalf("%s: the cache holds %v (%v), want one file", what, entries, err)
		}
		name := filepath.Join(cache, entries[0].Name())
		fi, err := os.Lstat(name)
		if err != nil {
			t.Fatal(err)
		}
		return name, fi
	}
	plant := func(name string, data []byte, mode os.FileMode, uid int) {
		t.Helper()
		os.Remove(name)
		if err := os.WriteFile(name, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		if err := os.Chown(name, uid, 0); err != nil {
			t.Fatal(err)
		}
	}

	// First run: compiled, refused, stored as a root-only file.
	if !refused("first run") {
		t.Fatal("first run: mkdir worked under a filter that refuses it")
	}
	if fi, err := os.Stat(cache); err != nil || fi.Mode() != os.ModeDir|0o700 {
		t.Fatalf("the cache directory: %v, %v", fi, err)
	}
	name, fi := only("first run")
	st := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 || st.Uid != 0 || fi.Size() == 0 || fi.Size()%8 != 0 {
		t.Fatalf("the cached filter: mode %v, uid %d, size %d", fi.Mode(), st.Uid, fi.Size())
	}
	text, err := seccompProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if key := fmt.Sprintf("%x-", sha256.Sum256([]byte(text))); !strings.HasPrefix(filepath.Base(name), key) {
		t.Fatalf("cache file %s, want it named by the profile's SHA-256 %s...", name, key)
	}
	compiled, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}

	// Second run: from the cache, still refused, the file left as it was.
	if !refused("second run") {
		t.Fatal("second run: mkdir worked under the cached filter")
	}
	_, fi2 := only("second run")
	st2 := fi2.Sys().(*syscall.Stat_t)
	if st2.Ino != st.Ino || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Errorf("the second run rewrote the cached filter")
	}

	// A valid filter planted under that key is what gets installed: the
	// cache is read, not the profile compiled.
	plant(name, allowAll, 0o600, 0)
	if refused("planted filter") {
		t.Fatal("a valid filter of root's in the cache was not used")
	}

	// What root did not write as a filter is ignored, and replaced by the
	// compiled filter.
	for _, bad := range []struct {
		what string
		data []byte
		mode os.FileMode
		uid  int
	}{
		{"another owner", allowAll, 0o600, 1000},
		{"mode 0644", allowAll, 0o644, 0},
		{"mode 0660", allowAll, 0o660, 0},
		{"empty", nil, 0o600, 0},
		{"a partial instruction", allowAll[:7], 0o600, 0},
		{"a filter and a bit", append(append([]byte{}, allowAll...), 1, 2, 3), 0o600, 0},
		{"longer than BPF_MAXINSNS", bytes.Repeat(allowAll, 4097), 0o600, 0},
	} {
		plant(name, bad.data, bad.mode, bad.uid)
		if !refused(bad.what) {
			t.Errorf("%s: the file in the cache was installed", bad.what)
			continue
		}
		_, fi := only(bad.what)
		got, _ := os.ReadFile(name)
		if st := fi.Sys().(*syscall.Stat_t); fi.Mode() != 0o600 || st.Uid != 0 || !bytes.Equal(got, compiled) {
			t.Errorf("%s: not replaced by the compiled filter: mode %v, uid %d, %d bytes", bad.what, fi.Mode(), st.Uid, len(got))
		}
	}

	// A link is not followed, even to a filter of root's.
	elsewhere := filepath.Join(work, "filter")
	plant(elsewhere, allowAll, 0o600, 0)
	os.Remove(name)
	if err := os.Symlink(elsewhere, name); err != nil {
		t.Fatal(err)
	}
	if !refused("a link") {
		t.Error("a link in the cache was followed")
	}
	if _, fi := only("a link"); !fi.Mode().IsRegular() {
		t.Errorf("a link: not replaced: %v", fi.Mode())
	}

	// A directory or parent someone but root could write to is not used:
	// a valid filter planted there stays unused, and nothing is added.
	plant(name, allowAll, 0o600, 0)
	for _, bad := range []struct {
		what     string
		dir      string
		mode     os.FileMode
		uid      int
		restore  os.FileMode
		restored int
	}{
		{"cache mode 0755", cache, 0o755, 0, 0o700, 0},
		{"cache mode 0770", cache, 0o770, 0, 0o700, 0},
		{"cache of another owner", cache, 0o700, 1000, 0o700, 0},
		{"parent mode 0755", parent, 0o755, 0, 0o700, 0},
		{"parent of another owner", parent, 0o700, 1000, 0o700, 0},
	} {
		if err := os.Chmod(bad.dir, bad.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(bad.dir, bad.uid, 0); err != nil {
			t.Fatal(err)
		}
		if !refused(bad.what) {
			t.Errorf("%s: the cache was used", bad.what)
		}
		os.Chmod(bad.dir, bad.restore)
		os.Chown(bad.dir, bad.restored, 0)
		if got, _ := os.ReadFile(name); !bytes.Equal(got, allowAll) {
			t.Errorf("%s: the cache was written", bad.what)
		}
	}
	// Nor a link to a good one, in a good parent.
	linked := filepath.Join(parent, "linked")
	if err := os.Symlink(cache, linked); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CNSENTER_SECCOMP_CACHE", linked)
	if !refused("a linked cache") {
		t.Error("a linked cache directory was used")
	}
	t.Setenv("CNSENTER_SECCOMP_CACHE", cache)
	if refused("the planted filter again") { // and the directory is fine again
		t.Error("the restored cache was not used")
	}

	// Sessions at once on an empty cache: each installs a whole filter,
	// one file is left and no temporary one.
	os.RemoveAll(cache)
	var wg sync.WaitGroup
	var mu sync.Mutex
	worked := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := Prepare(Request{Target: target.Process.Pid, Namespaces: map[Kind]string{UTS: ""},
				Confine: &Confinement{Seccomp: profile}, Program: []string{"mkdir", made}})
			if err != nil {
				t.Error(err)
				return
			}
			cmd, err := p.Command()
			if err != nil {
				p.Close()
				t.Error(err)
				return
			}
			err = cmd.Start()
			p.Close()
			if err == nil {
				err = cmd.Wait()
			}
			if err == nil {
				mu.Lock()
				worked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if worked != 0 {
		t.Errorf("%d of 8 concurrent sessions ran mkdir", worked)
	}
	if _, fi := only("concurrent sessions"); fi.Mode() != 0o600 {
		t.Errorf("concurrent sessions: %v", fi.Mode())
	} else if got, _ := os.ReadFile(name); !bytes.Equal(got, compiled) {
		t.Error("concurrent sessions: the cached filter differs from the compiled one")
	}

	// A key that is not a SHA-256 in hex (stage 1 never writes one) names
	// no file: one line, nothing run.
	for _, key := range []string{"../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63), strings.Repeat("a", 65)} {
		stage2 := exec.Command(Stage2, "seccompcache=0:"+key, "--", "mkdir", made)
		out, err := stage2.CombinedOutput()
		if err == nil || string(out) != "cnsenter: internal error: bad seccompcache entry\n" {
			t.Errorf("key %q: %v, %q", key, err, out)
		}
	}
}
