package dockerexec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEnvFile(t *testing.T) {
	t.Setenv("OURS", "from-us")
	os.Unsetenv("NOT_SET_ANYWHERE")
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.WriteFile(a, []byte("\xef\xbb\xbfA=1\n# a comment\n\n   B=two words = and more\nOURS\nNOT_SET_ANYWHERE\nEMPTY=\n\tC=#not a comment\n"), 0o644)
	b := filepath.Join(dir, "b")
	os.WriteFile(b, []byte("A=2"), 0o644)
	got, err := readEnvFiles([]string{a, b})
	want := []string{"A=1", "B=two words = and more", "OURS=from-us", "EMPTY=", "C=#not a comment", "A=2"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	// Merged as docker does: the files, then -e, later ones winning.
	if env := mergeEnv([]string{"A=0", "Z=z"}, append(got, "A=3")); !slices.Equal(env, []string{"Z=z", "B=two words = and more", "OURS=from-us", "EMPTY=", "C=#not a comment", "A=3"}) {
		t.Errorf("merged: %q", env)
	}
	for content, msg := range map[string]string{
		"=value\n":      "line 1 has no variable name",
		"OK=1\nA B=1\n": `line 2: variable "A B" contains whitespace`,
		"X=\xff\xfe\n":  "line 1 is not UTF-8",
	} {
		p := filepath.Join(dir, "bad")
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := readEnvFiles([]string{p}); err == nil || !strings.Contains(err.Error(), msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line saying %q", content, err, msg)
		}
	}
	if _, err := readEnvFiles([]string{filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "--env-file: open ") {
		t.Errorf("missing file: %v", err)
	}
}
