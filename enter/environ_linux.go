package enter

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// errTooLarge is a /proc/PID file larger than maxProcFile.
var errTooLarge = errors.New("larger than 1 MiB")

// targetEnviron reads the target's environment, NAME=VALUE entries only.
func (t *target) environ() ([]string, error) {
	t.awaitExec()
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

// runcInit is the name runc's init process bears until it executes the
// container's program (runc's nsexec sets it).
const runcInit = "runc:[2:INIT]"

// awaitExec waits, up to a second, for a container's init that runc has
// not yet replaced by the container's program: "docker run -d" and
// "podman run -d" return once runc has been told to start, not once the
// program runs, and until then the environment is runc's own. A process
// that only calls itself so (prctl PR_SET_NAME) costs that second, no more.
func (t *target) awaitExec() {
	for i := 0; i < 200; i++ {
		comm, err := readAllAt(t.dir, "comm")
		if err != nil || strings.TrimSpace(string(comm)) != runcInit {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	out := make([]string, 0, len(env)+len(oursInHostPrograms))
	ours := map[string]bool{} // name: given yet
	for _, name := range oursInHostPrograms {
		ours[name] = false
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		given, mine := ours[name]
		switch {
		case unsafeForHostProgram(name, value), mine && given:
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
	for _, name := range oursInHostPrograms {
		if v, ok := os.LookupEnv(name); ok && !ours[name] {
			out = append(out, name+"="+v)
		}
	}
	return out
}

// oursInHostPrograms are ours, not the target's, in a program from our
// files: where it finds programs, its shell, and its home, whose dot-files
// (.profile, .bashrc, .inputrc, .gitconfig...) a shell or a tool reads and
// runs.
var oursInHostPrograms = []string{"PATH", "SHELL", "HOME"}

// unsafeVariables: glibc's unsecvars.h, bash's privileged-mode list, what
// interactive shells act on, the places tools read their configuration
// from (XDG, vim, readline, OpenSSL, terminfo, curl, wget, GnuPG,
// Kerberos), then the commands and module paths of tools an administrator
// runs from a session (pagers, editors, git, the common interpreters). A
// list of names is never complete: the README says so, and says to leave
// --env out for an untrusted container's host programs.
var unsafeVariables = map[string]bool{
	"GCONV_PATH": true, "GETCONF_DIR": true, "GLIBC_TUNABLES": true, "HOSTALIASES": true,
	"LOCALDOMAIN": true, "LOCPATH": true, "NIS_PATH": true, "NLSPATH": true,
	"RESOLV_HOST_CONF": true, "RES_OPTIONS": true, "TMPDIR": true, "TZDIR": true,
	"BASH_ENV": true, "ENV": true, "SHELLOPTS": true, "BASHOPTS": true, "CDPATH": true, "GLOBIGNORE": true,
	"PROMPT_COMMAND": true, "PS0": true, "PS1": true, "PS2": true, "PS3": true, "PS4": true, "HISTFILE": true, "ZDOTDIR": true,
	"INPUTRC": true, "VIMINIT": true, "GVIMINIT": true, "EXINIT": true, "MYVIMRC": true,
	"OPENSSL_CONF": true, "OPENSSL_ENGINES": true, "OPENSSL_MODULES": true, "SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
	"TERMINFO": true, "TERMINFO_DIRS": true, "TERMCAP": true, "CURL_HOME": true, "WGETRC": true, "GNUPGHOME": true,
	"KRB5_CONFIG": true, "KRB5CCNAME": true,
	"LESSOPEN": true, "LESSCLOSE": true, "PAGER": true, "MANPAGER": true, "EDITOR": true, "VISUAL": true, "BROWSER": true,
	"SSH_ASKPASS": true, "SUDO_ASKPASS": true, "PERL5OPT": true, "PERL5LIB": true, "PERLLIB": true,
	"RUBYOPT": true, "RUBYLIB": true, "NODE_OPTIONS": true, "NODE_PATH": true, "LUA_INIT": true, "LUA_PATH": true, "LUA_CPATH": true,
}

// unsafeForHostProgram tells whether a variable of the target's is kept
// from a program of ours: by name, by prefix, or, for the locale and time
// zone, when its value names a file, which the C library would load.
func unsafeForHostProgram(name, value string) bool {
	switch {
	case unsafeVariables[name], strings.HasPrefix(name, "LD_"), strings.HasPrefix(name, "MALLOC_"),
		strings.HasPrefix(name, "BASH_FUNC_"), strings.HasPrefix(name, "PYTHON"), strings.HasPrefix(name, "GIT_"),
		strings.HasPrefix(name, "XDG_"):
		return true
	case name == "TZ":
		// A zone name is looked up under the host's zone directory; a path,
		// or a way out of it, is a file the target chose.
		zone := strings.TrimPrefix(value, ":")
		return strings.HasPrefix(zone, "/") || strings.Contains(zone, "..")
	case name == "LANG" || name == "LANGUAGE" || strings.HasPrefix(name, "LC_"):
		return strings.Contains(value, "/") // a locale named by its path
	}
	return false
}
