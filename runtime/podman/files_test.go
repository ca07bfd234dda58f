package podman

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLayers: a layer's chain from layers.json, and IDs that could make a
// path elsewhere refused.
func TestLayers(t *testing.T) {
	root := t.TempDir()
	a := New(root, t.TempDir())
	top, base := strings.Repeat("a", 64), strings.Repeat("b", 64)
	os.MkdirAll(filepath.Join(root, "overlay-layers"), 0o700)
	os.WriteFile(filepath.Join(root, "overlay-layers", "layers.json"), []byte(`[{"id":"`+base+`"},{"id":"`+top+`","parent":"`+base+`"},{"id":"../../etc"},{"id":"`+strings.Repeat("c", 64)+`","parent":"../../etc"}]`), 0o600)
	layers, err := a.own.layers("overlay", top)
	want := []string{filepath.Join(root, "overlay", top, "diff"), filepath.Join(root, "overlay", base, "diff")}
	if err != nil || !reflect.DeepEqual(layers, want) {
		t.Errorf("layers %q %v, want %q", layers, err, want)
	}
	for _, bad := range []string{"../../etc", strings.Repeat("c", 64), strings.Repeat("d", 64)} {
		if layers, err := a.own.layers("overlay", bad); err == nil {
			t.Errorf("%s: taken, %q", bad, layers)
		}
	}
	if _, err := a.own.layers("vfs", top); err == nil {
		t.Error("another driver's layers were taken")
	}
}
