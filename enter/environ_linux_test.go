package enter

import (
	"os"
	"slices"
	"testing"
)

// TestHostProgramEnviron: what a container's environment may not give a
// program from the host's files is dropped, PATH, SHELL and HOME are ours,
// the rest passes as it is, in its order; ours take the place of the
// target's (so that an environment we share stays the same), or come last.
func TestHostProgramEnviron(t *testing.T) {
	t.Setenv("PATH", "/usr/bin:/bin")
	t.Setenv("SHELL", "/bin/bash")
	t.Setenv("HOME", "/home/admin")
	for _, c := range []struct {
		in, want []string
	}{
		{nil, []string{"PATH=/usr/bin:/bin", "SHELL=/bin/bash", "HOME=/home/admin"}},
		{
			[]string{"FOO=bar", "PATH=/mnt/bin", "SHELL=/mnt/bin/sh", "TERM=xterm", "LANG=C.UTF-8", "HOME=/root"},
			[]string{"FOO=bar", "PATH=/usr/bin:/bin", "SHELL=/bin/bash", "TERM=xterm", "LANG=C.UTF-8", "HOME=/home/admin"},
		},
		{
			// The dynamic loader's, the C library's and the shells'.
			[]string{"LD_PRELOAD=/mnt/evil.so", "LD_LIBRARY_PATH=/mnt/lib", "LD_AUDIT=x", "LD_ANYTHING_NEW=x",
				"MALLOC_CHECK_=3", "MALLOC_ARENA_MAX=1", "GCONV_PATH=/mnt", "GLIBC_TUNABLES=x", "LOCPATH=/mnt",
				"NLSPATH=/mnt", "HOSTALIASES=/mnt/h", "RES_OPTIONS=x", "LOCALDOMAIN=x", "TMPDIR=/mnt/tmp", "TZDIR=/mnt",
				"GETCONF_DIR=/mnt", "NIS_PATH=x", "RESOLV_HOST_CONF=x",
				"BASH_ENV=/mnt/x", "ENV=/mnt/x", "SHELLOPTS=xtrace", "BASHOPTS=x", "CDPATH=/mnt", "GLOBIGNORE=*",
				"BASH_FUNC_ls%%=() { evil; }", "PROMPT_COMMAND=evil", "PS0=$(evil)", "PS1=$(evil)", "PS2=x", "PS3=x",
				"PS4=$(evil)", "HISTFILE=/etc/passwd", "ZDOTDIR=/mnt", "LESSOPEN=|/mnt/evil %s", "PYTHONSTARTUP=/mnt/x.py",
				"GIT_SSH_COMMAND=/mnt/evil", "NODE_OPTIONS=--require=/mnt/x.js", "PERL5OPT=-M/mnt/x",
				"XDG_CONFIG_HOME=/mnt/c", "INPUTRC=/mnt/i", "OPENSSL_CONF=/mnt/o", "TERMINFO=/mnt/t", "GNUPGHOME=/mnt/g",
				"LANG=/mnt/locale", "LC_ALL=/mnt/l", "TZ=/mnt/zone", "TZ=:/mnt/zone", "TZ=../../mnt/z", "FOO=bar"},
			[]string{"FOO=bar", "PATH=/usr/bin:/bin", "SHELL=/bin/bash", "HOME=/home/admin"},
		},
		{
			// Names are matched whole: these only look alike.
			[]string{"XLD_PRELOAD=1", "MY_PATH=/mnt", "PATHS=1", "SHELLX=1", "ENVIRONMENT=1", "ld_preload=1", "LD=1", "=x", "PS=1"},
			[]string{"XLD_PRELOAD=1", "MY_PATH=/mnt", "PATHS=1", "SHELLX=1", "ENVIRONMENT=1", "ld_preload=1", "LD=1", "=x", "PS=1", "PATH=/usr/bin:/bin", "SHELL=/bin/bash", "HOME=/home/admin"},
		},
		{
			// Entries without "=" (the target's are filtered before) are
			// names alone: dropped when unsafe, PATH and SHELL ours, else
			// left for the check that refuses them.
			[]string{"LD_PRELOAD", "PATH", "SHELL", "FOO", ""},
			[]string{"PATH=/usr/bin:/bin", "SHELL=/bin/bash", "FOO", "", "HOME=/home/admin"},
		},
		{
			// The last of several wins in a program's getenv: none is kept.
			[]string{"PATH=/a", "PATH=/b", "SHELL=/c", "LD_PRELOAD=1", "LD_PRELOAD=2", "LANG=C.UTF-8", "TZ=Europe/Paris"},
			[]string{"PATH=/usr/bin:/bin", "SHELL=/bin/bash", "LANG=C.UTF-8", "TZ=Europe/Paris", "HOME=/home/admin"},
		},
	} {
		if got := hostProgramEnviron(c.in); !slices.Equal(got, c.want) {
			t.Errorf("hostProgramEnviron(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestHostProgramEnvironWithoutOurs: a PATH or SHELL we do not have is not
// made up, and the container's is not kept in its place.
func TestHostProgramEnvironWithoutOurs(t *testing.T) {
	t.Setenv("PATH", "/bin")
	t.Setenv("SHELL", "") // restored when the test ends
	t.Setenv("HOME", "")
	if err := os.Unsetenv("SHELL"); err != nil {
		t.Fatal(err)
	}
	if err := os.Unsetenv("HOME"); err != nil {
		t.Fatal(err)
	}
	got := hostProgramEnviron([]string{"PATH=/mnt/bin", "SHELL=/mnt/bin/sh", "FOO=bar", "HOME=/mnt/evil"})
	if want := []string{"PATH=/bin", "FOO=bar"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
