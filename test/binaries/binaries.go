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

// Build builds cnsenter-go, docker-nsenter-go and the C program that is
// cnsenter-enter, cnsenter and docker-nsenter (enter/stage2) into dir.
func Build(dir string) error {
	for _, cmd := range []string{"cnsenter", "docker-nsenter"} {
		if err := run("go", "build", "-o", filepath.Join(dir, cmd+"-go"), "github.com/cnsenter/cnsenter/cmd/"+cmd); err != nil {
			return err
		}
	}
	// The C program with the plugin's metadata built in, by make build's
	// own recipe.
	if err := stage2(dir, filepath.Join(dir, "docker-nsenter-go")); err != nil {
		return err
	}
	program := filepath.Join(dir, "cnsenter-enter")
	for _, name := range []string{"cnsenter", "docker-nsenter"} {
		if err := os.Link(program, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// Stage2 builds the C program (enter/stage2) as dir/cnsenter-enter,
// without the plugin's metadata, for the tests of package enter.
func Stage2(dir string) error {
	return stage2(dir, "")
}

// stage2 runs make stage2 (see the Makefile), the one recipe for the C
// program: its sources, compiler flags and libraries are written there
// only. metadata is the Go plugin whose metadata is built in, or empty.
func stage2(dir, metadata string) error {
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if metadata != "" {
		if metadata, err = filepath.Abs(metadata); err != nil {
			return err
		}
	}
	return run("make", "--no-print-directory", "-C", root, "stage2", "STAGE2_OUT="+dir, "STAGE2_METADATA="+metadata)
}

func run(argv ...string) error {
	build := exec.Command(argv[0], argv[1:]...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("%q: %w\n%s (make build-deps installs what the build needs)", argv, err, out)
	}
	return nil
}
