package docker

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeOverlay2 makes dockerd 20.10's overlay2 state for one container
// whose lower file names link (in overlay2/l) pointing at target.
func fakeOverlay2(t *testing.T, mountID, lower, link, target string) string {
	t.Helper()
	root := t.TempDir()
	id := strings.Repeat("c", 64)
	mounts := filepath.Join(root, "image/overlay2/layerdb/mounts", id)
	os.MkdirAll(mounts, 0o755)
	os.WriteFile(filepath.Join(mounts, "mount-id"), []byte(mountID), 0o644)
	os.MkdirAll(filepath.Join(root, "overlay2/l"), 0o755)
	if cacheID(mountID) {
		os.MkdirAll(filepath.Join(root, "overlay2", mountID), 0o755)
		os.WriteFile(filepath.Join(root, "overlay2", mountID, "lower"), []byte(lower), 0o644)
	}
	if link != "" {
		os.Symlink(target, filepath.Join(root, "overlay2/l", link))
	}
	return root
}

// TestOverlay2Layers: the layers of a container, and what of dockerd's
// state is refused because a path built from it could lead elsewhere.
func TestOverlay2Layers(t *testing.T) {
	id := strings.Repeat("c", 64)
	top, image := strings.Repeat("a", 64), strings.Repeat("b", 64)
	root := fakeOverlay2(t, top, "l/ABC", "ABC", "../"+image+"/diff")
	layers, err := overlay2Container(root, id)
	want := []string{filepath.Join(root, "overlay2", top, "diff"), filepath.Join(root, "overlay2", image, "diff")}
	if err != nil || !reflect.DeepEqual(layers, want) {
		t.Errorf("layers %q %v, want %q", layers, err, want)
	}
	for _, bad := range []struct{ mountID, lower, link, target string }{
		{"../../../etc", "", "", ""},
		{top, "l/../../etc", "", ""},
		{top, "l/ABC", "ABC", "/etc"},
		{top, "l/ABC", "ABC", "../../../../etc/diff"},
		{top, "l/ABC", "ABC", "../" + image + "/../../x/diff"},
	} {
		root := fakeOverlay2(t, bad.mountID, bad.lower, bad.link, bad.target)
		if layers, err := overlay2Container(root, id); err == nil {
			t.Errorf("%+v: taken, layers %q", bad, layers)
		}
	}
}

func TestImageNames(t *testing.T) {
	for in, want := range map[string][2]string{
		"busybox":                              {"busybox:latest", "docker.io/library/busybox:latest"},
		"busybox:1":                            {"busybox:1", "docker.io/library/busybox:1"},
		"docker.io/library/busybox":            {"busybox:latest", "docker.io/library/busybox:latest"},
		"cnsenter-test/busybox":                {"cnsenter-test/busybox:latest", "docker.io/cnsenter-test/busybox:latest"},
		"localhost:5000/x/y:2":                 {"localhost:5000/x/y:2", "localhost:5000/x/y:2"},
		"reg.example/app@sha256:" + hexOf('1'): {"reg.example/app@sha256:" + hexOf('1'), "reg.example/app@sha256:" + hexOf('1')},
	} {
		if got := [2]string{shortImageName(in), dockerImageName(in)}; got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func hexOf(c byte) string { return strings.Repeat(string(c), 64) }

func TestChainIDs(t *testing.T) {
	a, b := "sha256:"+hexOf('a'), "sha256:"+hexOf('b')
	chains, err := ChainIDs([]string{a, b})
	// sha256("sha256:aaa... sha256:bbb..."), as the image spec has it.
	if err != nil || len(chains) != 2 || chains[0] != a || !strings.HasPrefix(chains[1], "sha256:") || len(chains[1]) != 71 {
		t.Errorf("chains %q %v", chains, err)
	}
	if _, err := ChainIDs([]string{"sha256:../x"}); err == nil {
		t.Error("a diff ID that is no digest was taken")
	}
}
