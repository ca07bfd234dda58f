package enter

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNSFSHandle: the handle of :NSID is FILEID_NSFS with struct
// nsfs_file_handle {ns_id, ns_type 0, ns_inum 0} (include/uapi/linux/nsfs.h),
// the same bytes the kernel writes for a namespace with name_to_handle_at,
// but for the type and inode it leaves out.
func TestNSFSHandle(t *testing.T) {
	h := nsfsHandle(0x1122334455667788)
	want := make([]byte, 16)
	binary.NativeEndian.PutUint64(want, 0x1122334455667788)
	if h.Type() != 0xf1 || !bytes.Equal(h.Bytes(), want) {
		t.Errorf("handle type %#x bytes %x, want 0xf1 %x", h.Type(), h.Bytes(), want)
	}
	kh, err := utsHandle(t)
	if err != nil {
		t.Skipf("the kernel gives no nsfs handle (Linux 6.18 or later): %v", err)
	}
	id := binary.NativeEndian.Uint64(kh.Bytes())
	ours := nsfsHandle(id)
	if kh.Type() != fileidNSFS || len(kh.Bytes()) != 16 || !bytes.Equal(ours.Bytes()[:8], kh.Bytes()[:8]) {
		t.Errorf("the kernel's handle %#x %x does not start as ours %x", kh.Type(), kh.Bytes(), ours.Bytes())
	}
}

func TestParseNSID(t *testing.T) {
	for _, good := range []string{"1", "4026531840", "18446744073709551615"} {
		if _, err := parseNSID(good, Net); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for _, bad := range []string{"", "0", "x", "+1", "-1", "1x", " 1", "18446744073709551616"} {
		if _, err := parseNSID(bad, Net); err == nil || !strings.Contains(err.Error(), "is not a namespace ID") {
			t.Errorf("%q: want an error, got %v", bad, err)
		}
	}
}

// TestNamespaceByIDKernel: before Linux 6.19 :NSID says which kernel it
// needs; from 6.19 the namespace we are in is found by its ID.
func TestNamespaceByIDKernel(t *testing.T) {
	release, before := kernelBefore(6, 19)
	if before {
		_, err := openNamespaceByID("5", Net)
		if err == nil || !strings.Contains(err.Error(), "needs Linux 6.19 or later (namespace file handles); this is Linux "+release) {
			t.Errorf("want the kernel named, got %v", err)
		}
		t.Skipf("opening a namespace by its ID needs Linux 6.19 or later; this is %s", release)
	}
	kh, err := utsHandle(t)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := openNamespaceByID(strconv.FormatUint(binary.NativeEndian.Uint64(kh.Bytes()), 10), UTS)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
}

// utsHandle is the kernel's own handle of our UTS namespace
// (name_to_handle_at on /proc/self/ns/uts).
func utsHandle(t *testing.T) (unix.FileHandle, error) {
	t.Helper()
	f, err := os.Open("/proc/self/ns/uts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kh, _, err := unix.NameToHandleAt(int(f.Fd()), "", unix.AT_EMPTY_PATH)
	return kh, err
}
