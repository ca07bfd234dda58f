// Package libexec finds the helper program cnsenter and docker nsenter run:
// cnsenter-enter, stage 2 of every entry.
package libexec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultDir is where an install puts the helpers when the build says
// nothing else (make's LIBEXECDIR with its default PREFIX); stage 2's front
// gets it through enter/stage2/contract.h.
const DefaultDir = "/usr/local/libexec/cnsenter"

// Dir is where an install puts the helpers; make sets it from PREFIX, so
// that the Docker plugin, installed among the docker CLI's plugins, finds
// them too.
var Dir = DefaultDir

// Find looks for a helper beside the running binary (a build tree), in Dir,
// then in ../libexec/cnsenter beside the binary (an install moved as a
// whole), and returns the first that exists.
func Find(name string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find %s: %w", name, err)
	}
	bin := filepath.Dir(self)
	places := []string{bin, Dir, filepath.Join(bin, "..", "libexec", "cnsenter")}
	for _, dir := range places {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			return path, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("cannot use %s: %w", path, err)
		}
	}
	return "", fmt.Errorf("cannot find %s beside %s or in %s: install cnsenter as a whole (make install)", name, self, Dir)
}
