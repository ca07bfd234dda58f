package podman

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// storageConf is what is used of a containers-storage.conf(5): its
// [storage] table's graphroot, runroot and rootless_storage_path.
type storageConf struct {
	GraphRoot, RunRoot, RootlessStoragePath string
}

// parseStorageConf reads the subset of TOML that containers-storage.conf
// files use for these keys: `key = "string"` (or 'literal') lines under
// [storage], comments, other tables skipped. A value of another form (an
// array, a number) is an error rather than a guess: the store it names
// would be the wrong one.
func parseStorageConf(r io.Reader, file string) (storageConf, error) {
	var c storageConf
	table := ""
	s := bufio.NewScanner(io.LimitReader(r, 1<<20))
	s.Buffer(make([]byte, 64<<10), 64<<10)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			table = strings.TrimSpace(strings.Trim(strings.TrimSpace(stripComment(line)), "[]"))
			continue
		}
		if table != "storage" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return c, fmt.Errorf("%s:%d: not key = value", file, n)
		}
		key = strings.Trim(strings.TrimSpace(key), `"`)
		var dst *string
		switch key {
		case "graphroot":
			dst = &c.GraphRoot
		case "runroot":
			dst = &c.RunRoot
		case "rootless_storage_path":
			dst = &c.RootlessStoragePath
		default:
			continue
		}
		v, err := tomlString(strings.TrimSpace(value))
		if err != nil {
			return c, fmt.Errorf("%s:%d: %s: %w", file, n, key, err)
		}
		*dst = v
	}
	if err := s.Err(); err != nil {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// tomlString reads a TOML basic ("...", with escapes) or literal ('...')
// string, and a comment after it.
func tomlString(v string) (string, error) {
	if strings.HasPrefix(v, "'") {
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", fmt.Errorf("unterminated string")
		}
		if rest := strings.TrimSpace(v[end+2:]); rest != "" && rest[0] != '#' {
			return "", fmt.Errorf("unexpected %q after the string", rest)
		}
		return v[1 : end+1], nil
	}
	if !strings.HasPrefix(v, `"`) {
		return "", fmt.Errorf("not a string: %q", v)
	}
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			if rest := strings.TrimSpace(v[i+1:]); rest != "" && rest[0] != '#' {
				return "", fmt.Errorf("unexpected %q after the string", rest)
			}
			s, err := strconv.Unquote(v[:i+1])
			if err != nil {
				return "", fmt.Errorf("not a string: %q", v[:i+1])
			}
			return s, nil
		}
	}
	return "", fmt.Errorf("unterminated string")
}

func stripComment(line string) string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		return line[:i]
	}
	return line
}

// readStorageConf reads one file; a missing file is no setting.
func readStorageConf(file string) (storageConf, bool, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return storageConf{}, false, nil
	}
	if err != nil {
		return storageConf{}, false, fmt.Errorf("Podman's storage configuration: %w", err)
	}
	defer f.Close()
	c, err := parseStorageConf(f, file)
	if err != nil {
		return c, false, fmt.Errorf("Podman's storage configuration: %w", err)
	}
	return c, true, nil
}

// SystemStorageConfs are containers/storage's configuration for root, and
// the base for every user: the first that exists.
var SystemStorageConfs = []string{"/etc/containers/storage.conf", "/usr/share/containers/storage.conf"}

func systemStorageConf() string {
	for _, f := range SystemStorageConfs {
		if exists(f) {
			return f
		}
	}
	return SystemStorageConfs[0]
}

// env is the environment a store is worked out from: the caller's own, or
// (tests) one of the test's.
type env struct {
	uid    int
	getenv func(string) string
}

// storeFor is where Podman, run by uid with this environment and no
// --root or --runroot, keeps its store, as containers/storage (the version
// Podman 4.3 vendors) works it out:
//
//   - CONTAINERS_STORAGE_CONF names the configuration file when set;
//     otherwise root reads /etc/containers/storage.conf (else
//     /usr/share/containers/storage.conf), and any other
//     user $XDG_CONFIG_HOME/containers/storage.conf (~/.config/...) when it
//     exists, else the system's file, of which only rootless_storage_path
//     then counts;
//   - root's defaults are /var/lib/containers/storage and
//     /run/containers/storage;
//   - a user's graph root is $XDG_DATA_HOME/containers/storage
//     (~/.local/share/...), its run root RUNTIME_DIR/containers, where
//     RUNTIME_DIR is $XDG_RUNTIME_DIR, else /run/user/UID when it is the
//     user's and private, else $TMPDIR/podman-run-UID (/tmp when TMPDIR is
//     not set: what Debian's Podman 4.3 uses on a machine without a login
//     session; $TMPDIR/containers-user-UID when the user has a
//     storage.conf that names no run root: containers/storage's own
//     default then, as checked with Podman 4.3), else $HOME/rundir.
//
// A root and a run root given explicitly win over all of it.
func storeFor(e env, root, runRoot string) (string, string, error) {
	if root != "" && runRoot != "" {
		return root, runRoot, nil
	}
	file := e.getenv("CONTAINERS_STORAGE_CONF")
	userFile := false
	if file == "" {
		file = systemStorageConf()
		if e.uid != 0 {
			if u := filepath.Join(configHome(e), "containers", "storage.conf"); exists(u) {
				file, userFile = u, true
			}
		}
	}
	conf, _, err := readStorageConf(file)
	if err != nil {
		return "", "", err
	}
	if e.uid != 0 && !userFile && e.getenv("CONTAINERS_STORAGE_CONF") == "" {
		// The system's file is root's: a user takes only its rootless path.
		conf = storageConf{GraphRoot: expandRootless(conf.RootlessStoragePath, e)}
	}
	if root == "" {
		root = conf.GraphRoot
	}
	if runRoot == "" {
		runRoot = conf.RunRoot
	}
	if e.uid == 0 {
		if root == "" {
			root = DefaultRoot
		}
		if runRoot == "" {
			runRoot = DefaultRunRoot
		}
		return root, runRoot, nil
	}
	if root == "" {
		data := e.getenv("XDG_DATA_HOME")
		if data == "" {
			data = filepath.Join(e.getenv("HOME"), ".local", "share")
		}
		root = filepath.Join(data, "containers", "storage")
	}
	if runRoot == "" {
		// Podman's own default without a storage.conf of the user's;
		// containers/storage's, whose temporary directory is named
		// otherwise, with one.
		tmpName := "podman-run-"
		if userFile || e.getenv("CONTAINERS_STORAGE_CONF") != "" {
			tmpName = "containers-user-"
		}
		runRoot = filepath.Join(runtimeDir(e, tmpName), "containers")
	}
	return root, runRoot, nil
}

func configHome(e env) string {
	if c := e.getenv("XDG_CONFIG_HOME"); c != "" {
		return c
	}
	return filepath.Join(e.getenv("HOME"), ".config")
}

// runtimeDir is the rootless runtime directory Podman 4.3 uses (see
// storeFor); the first that exists, as Podman would have made it.
func runtimeDir(e env, tmpName string) string {
	if d := e.getenv("XDG_RUNTIME_DIR"); d != "" {
		return d
	}
	uid := strconv.Itoa(e.uid)
	run := filepath.Join("/run/user", uid)
	if st, err := os.Stat(run); err == nil && st.IsDir() && owner(st) == e.uid && st.Mode().Perm()&0o077 == 0 {
		return run
	}
	tmp := e.getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	if d := filepath.Join(tmp, tmpName+uid); exists(d) {
		return d
	}
	if d := filepath.Join(e.getenv("HOME"), "rundir"); exists(d) {
		return d
	}
	return filepath.Join(tmp, tmpName+uid)
}

// expandRootless expands rootless_storage_path's $HOME, $UID and $USER.
func expandRootless(path string, e env) string {
	if path == "" {
		return ""
	}
	return os.Expand(path, func(name string) string {
		switch name {
		case "HOME":
			return e.getenv("HOME")
		case "UID":
			return strconv.Itoa(e.uid)
		case "USER":
			return e.getenv("USER")
		}
		return "$" + name
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
