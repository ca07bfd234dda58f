package enter

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// errTooLarge is a /proc/PID file larger than maxProcFile.
var errTooLarge = errors.New("larger than 1 MiB")

// targetEnviron reads the target's environment, NAME=VALUE entries only.
func (t *target) environ() ([]string, error) {
	data, err := readAllAt(t.dir, "environ")
	if errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf(envTooLarge, t.pid)
	}
	if err != nil {
		return nil, t.openError("environ", err)
	}
	var env []string
	for _, kv := range strings.Split(string(data), "\x00") {
		if strings.Contains(kv, "=") {
			env = append(env, kv)
		}
	}
	return env, nil
}

// hostProgramEnviron makes the target's environment safe for a program
// that comes from the host's files and may run as root on the host: the
// variables the C library ignores in a set-user-ID program (glibc's
// unsecvars, every LD_* and MALLOC_* among them) would load the
// container's code or files into it, and so would those bash ignores when
// privileged (startup files, options, inherited functions); they are
// dropped, and so are those an interactive shell acts on whatever its
// mode: bash runs PROMPT_COMMAND and the $(...) of its prompts before each
// command, writes its history to HISTFILE, and zsh reads its startup files
// from ZDOTDIR. PATH and SHELL would pick the container's programs: they are
// ours. Every other variable passes, as the target has it.
func hostProgramEnviron(env []string) []string {
	out := make([]string, 0, len(env)+2)
	ours := map[string]bool{"PATH": false, "SHELL": false} // name: given yet
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		given, mine := ours[name]
		switch {
		case unsafeForHostProgram(name), mine && given:
		case mine:
			// In its place, so that an environment we share stays the same.
			if v, ok := os.LookupEnv(name); ok {
				out = append(out, name+"="+v)
			}
			ours[name] = true
		default:
			out = append(out, kv)
		}
	}
	for _, name := range []string{"PATH", "SHELL"} {
		if v, ok := os.LookupEnv(name); ok && !ours[name] {
			out = append(out, name+"="+v)
		}
	}
	return out
}

// unsafeVariables: glibc's unsecvars.h, bash's privileged-mode list, what
// interactive shells act on, then the commands and module paths of tools
// an administrator runs from a session (pagers, editors, git, the common
// interpreters). A list of names is never complete: the README says so,
// and says to leave --env out for an untrusted container's host programs.
var unsafeVariables = map[string]bool{
	"GCONV_PATH": true, "GETCONF_DIR": true, "GLIBC_TUNABLES": true, "HOSTALIASES": true,
	"LOCALDOMAIN": true, "LOCPATH": true, "NIS_PATH": true, "NLSPATH": true,
	"RESOLV_HOST_CONF": true, "RES_OPTIONS": true, "TMPDIR": true, "TZDIR": true,
	"BASH_ENV": true, "ENV": true, "SHELLOPTS": true, "BASHOPTS": true, "CDPATH": true, "GLOBIGNORE": true,
	"PROMPT_COMMAND": true, "PS0": true, "PS1": true, "PS2": true, "PS3": true, "PS4": true, "HISTFILE": true, "ZDOTDIR": true,
	"LESSOPEN": true, "LESSCLOSE": true, "PAGER": true, "MANPAGER": true, "EDITOR": true, "VISUAL": true, "BROWSER": true,
	"SSH_ASKPASS": true, "SUDO_ASKPASS": true, "PERL5OPT": true, "PERL5LIB": true, "PERLLIB": true,
	"RUBYOPT": true, "RUBYLIB": true, "NODE_OPTIONS": true, "NODE_PATH": true, "LUA_INIT": true, "LUA_PATH": true, "LUA_CPATH": true,
}

func unsafeForHostProgram(name string) bool {
	return unsafeVariables[name] || strings.HasPrefix(name, "LD_") || strings.HasPrefix(name, "MALLOC_") ||
		strings.HasPrefix(name, "BASH_FUNC_") || strings.HasPrefix(name, "PYTHON") || strings.HasPrefix(name, "GIT_")
}
