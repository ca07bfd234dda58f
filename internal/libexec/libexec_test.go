package libexec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	saved := Dir
	defer func() { Dir = saved }()
	Dir = t.TempDir()
	if _, err := Find("cnsenter-nothing"); err == nil || !strings.Contains(err.Error(), "cannot find cnsenter-nothing beside ") || !strings.Contains(err.Error(), Dir) {
		t.Errorf("a helper that is nowhere: %v", err)
	}
	want := filepath.Join(Dir, "cnsenter-helper")
	if err := os.WriteFile(want, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := Find("cnsenter-helper"); got != want || err != nil {
		t.Errorf("Find = %q, %v; want %q", got, err, want)
	}
	// Beside the running binary comes first.
	self, _ := os.Executable()
	if got, err := Find(filepath.Base(self)); got != self || err != nil {
		t.Errorf("Find(our own name) = %q, %v; want %q", got, err, self)
	}
}
