// Package ref parses what --target takes: a PID, docker://NAME|ID|PREFIX,
// containerd://[NAMESPACE/]ID, podman://NAME|ID|PREFIX, or a bare name.
package ref

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is what a reference names.
type Kind int

const (
	PID        Kind = iota // a number: a process, as in util-linux
	Docker                 // docker://NAME, ID or unique ID prefix
	Containerd             // containerd://NAMESPACE/ID
	Podman                 // podman://NAME, ID or unique ID prefix
	Bare                   // a name to look for in every runtime
)

// Ref is a parsed reference.
type Ref struct {
	Kind      Kind
	PID       int
	Namespace string // containerd namespace
	Name      string // Docker or Podman name, ID or prefix; containerd ID; bare name
}

// String is the reference in its canonical form.
func (r Ref) String() string {
	switch r.Kind {
	case PID:
		return strconv.Itoa(r.PID)
	case Docker:
		return "docker://" + r.Name
	case Containerd:
		return "containerd://" + r.Namespace + "/" + r.Name
	case Podman:
		return "podman://" + r.Name
	}
	return r.Name
}

// Parse reads a reference. defaultNamespace is the containerd namespace of
// containerd://ID (CONTAINERD_NAMESPACE, else "default").
func Parse(s, defaultNamespace string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("empty target: give a PID, docker://NAME, containerd://NAMESPACE/ID, podman://NAME or a container name")
	}
	if IsNumber(s) {
		pid, err := strconv.Atoi(s)
		if err != nil || pid <= 0 {
			return Ref{}, fmt.Errorf("%s is not a valid PID", shown(s))
		}
		return Ref{Kind: PID, PID: pid}, nil
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if err := checkName(s, s); err != nil {
			return Ref{}, err
		}
		return Ref{Kind: Bare, Name: s}, nil
	}
	switch scheme {
	case "docker":
		if rest == "" {
			return Ref{}, fmt.Errorf("%s: give a container name or ID after docker://", shown(s))
		}
		if err := checkName(rest, s); err != nil {
			return Ref{}, err
		}
		return Ref{Kind: Docker, Name: strings.TrimPrefix(rest, "/")}, nil
	case "podman":
		if rest == "" {
			return Ref{}, fmt.Errorf("%s: give a container name or ID after podman://", shown(s))
		}
		if err := checkName(rest, s); err != nil {
			return Ref{}, err
		}
		return Ref{Kind: Podman, Name: strings.TrimPrefix(rest, "/")}, nil
	case "containerd":
		ns, id, hasNS := strings.Cut(rest, "/")
		if !hasNS {
			ns, id = defaultNamespace, rest
		}
		if id == "" || ns == "" || strings.Contains(id, "/") {
			return Ref{}, fmt.Errorf("%s: give containerd://NAMESPACE/ID or containerd://ID", shown(s))
		}
		if err := checkName(ns, s); err != nil {
			return Ref{}, err
		}
		if err := checkName(id, s); err != nil {
			return Ref{}, err
		}
		return Ref{Kind: Containerd, Namespace: ns, Name: id}, nil
	}
	return Ref{}, fmt.Errorf("%s: unknown scheme %q: use docker://, containerd://, podman://, a container name or a PID", shown(s), scheme+"://")
}

// shown is a reference as an error message shows it: quoted when it has
// anything but printable characters, so that the message stays one line.
func shown(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s || strings.ContainsRune(s, ' ') {
		return q
	}
	return s
}

// IsNumber tells whether s is a decimal number: digits, at least one.
func IsNumber(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// CheckName tells whether a container name, ID or ID prefix is one that
// Docker and containerd could have given, before it goes into a request:
// "..", "/" or "?" in an API path would make it another request.
func CheckName(name string) error {
	return checkName(name, name)
}

// checkName accepts what Docker and containerd accept in names and IDs: a
// letter or digit, then letters, digits and . _ - (Docker's leading "/"
// aside), nothing else.
func checkName(name, whole string) error {
	name = strings.TrimPrefix(name, "/")
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%q is not a container reference: a name must have 1 to 255 characters", whole)
	}
	if c := name[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return fmt.Errorf("%q is not a container reference: a name starts with a letter or a digit", whole)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%q is not a container reference: %q cannot be in a container name", whole, r)
		}
	}
	return nil
}
