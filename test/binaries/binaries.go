// Package binaries builds cnsenter's programs into a directory, as make
// build lays them out in bin/, for test runs not given prebuilt ones.
package binaries

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
)

// Build builds cnsenter-go, docker-nsenter-go and the C program that is
// cnsenter-enter, cnsenter and docker-nsenter (enter/stage2) into dir.
func Build(dir string) error {
	for _, cmd := range []string{"cnsenter", "docker-nsenter"} {
		if err := run("go", "build", "-o", filepath.Join(dir, cmd+"-go"), "github.com/cnsenter/cnsenter/cmd/"+cmd); err != nil {
			return err
		}
	}
	// The plugin's metadata, as make build builds it in.
	metadata, err := exec.Command(filepath.Join(dir, "docker-nsenter-go"), "docker-cli-plugin-metadata").Output()
	if err != nil {
		return fmt.Errorf("the plugin's metadata: %w", err)
	}
	header := filepath.Join(dir, "plugin-metadata.h")
	if err := os.WriteFile(header, []byte("#define PLUGIN_METADATA "+strconv.Quote(string(metadata))+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(header)
	program := filepath.Join(dir, "cnsenter-enter")
	if err := Stage2(program, "-include", header); err != nil {
		return err
	}
	for _, name := range []string{"cnsenter", "docker-nsenter"} {
		if err := os.Link(program, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// Stage2 builds the C program (enter/stage2) as program, with more
// compiler flags: make build's build of it, for tests.
func Stage2(program string, flags ...string) error {
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "..", "..", "enter", "stage2")
	argv := append([]string{"cc", "-O2", "-Wall", "-Werror", "-o", program}, flags...)
	for _, file := range []string{"stage2.c", "front.c", "seccomp.c", "landlock.c", "plan.c", "mounts.c", "creds.c", "wait.c"} {
		argv = append(argv, filepath.Join(src, file))
	}
	return run(append(argv, "-lseccomp")...)
}

func run(argv ...string) error {
	build := exec.Command(argv[0], argv[1:]...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("%q: %w\n%s (make build-deps installs what the build needs)", argv, err, out)
	}
	return nil
}
