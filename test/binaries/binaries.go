// Package binaries builds cnsenter's programs into a directory, as make
// build lays them out in bin/, for test runs not given prebuilt ones.
package binaries

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Build builds cnsenter (the C front), cnsenter-go, cnsenter-enter and
// docker-nsenter into dir.
func Build(dir string) error {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	stage2 := filepath.Join(root, "enter", "stage2")
	builds := [][]string{
		{"cc", "-O2", "-Wall", "-Werror", "-o", filepath.Join(dir, "cnsenter-enter"),
			filepath.Join(stage2, "stage2.c"), filepath.Join(stage2, "front.c"), filepath.Join(stage2, "seccomp.c"), "-lseccomp"},
		{"ln", "-f", filepath.Join(dir, "cnsenter-enter"), filepath.Join(dir, "cnsenter")},
		{"go", "build", "-o", filepath.Join(dir, "cnsenter-go"), "github.com/cnsenter/cnsenter/cmd/cnsenter"},
		{"go", "build", "-o", filepath.Join(dir, "docker-nsenter"), "github.com/cnsenter/cnsenter/cmd/docker-nsenter"},
	}
	for _, args := range builds {
		build := exec.Command(args[0], args[1:]...)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("%q: %w\n%s (make build-deps installs what the build needs)", args, err, out)
		}
	}
	return nil
}
