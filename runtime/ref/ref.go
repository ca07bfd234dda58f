// Package ref parses what --target takes: a PID, SCHEME://REFERENCE (a
// runtime's own reference: docker://NAME, containerd://NAMESPACE/ID, ...),
// or a bare name. What follows the scheme is the runtime's to read; the
// names in it are checked with CheckName before they go into a request.
package ref

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is what a reference names.
type Kind int

const (
	PID    Kind = iota // a number: a process, as in util-linux
	Scheme             // SCHEME://REFERENCE: a container of one runtime
	Bare               // a name to look for in every runtime
)

// Ref is a parsed reference.
type Ref struct {
	Kind   Kind
	PID    int
	Scheme string // "docker", for Scheme
	Name   string // what follows SCHEME://; the bare name
}

// String is the reference in its canonical form.
func (r Ref) String() string {
	switch r.Kind {
	case PID:
		return strconv.Itoa(r.PID)
	case Scheme:
		return r.Scheme + "://" + r.Name
	}
	return r.Name
}

// Parse reads a reference.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("empty target: give a PID, a container name or SCHEME://NAME (docker://NAME, say)")
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
	if !isScheme(scheme) {
		return Ref{}, fmt.Errorf("%s: %s is not a scheme: give a PID, a container name or SCHEME://NAME (docker://NAME, say)", shown(s), shown(scheme+"://"))
	}
	if rest == "" {
		return Ref{}, fmt.Errorf("%s: give a container after %s://", shown(s), scheme)
	}
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < ' ' || r == 0x7f }); i >= 0 {
		return Ref{}, fmt.Errorf("%s is not a container reference: %q cannot be in a container name", shown(s), rest[i])
	}
	return Ref{Kind: Scheme, Scheme: scheme, Name: rest}, nil
}

// isScheme accepts lower-case letters, the form of every runtime's name.
func isScheme(s string) bool {
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return s != "" && len(s) <= 32
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

// CheckPart is CheckName for one part of a reference (containerd's
// NAMESPACE in NAMESPACE/ID, say): the message quotes the whole.
func CheckPart(part, whole string) error {
	return checkName(part, whole)
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
