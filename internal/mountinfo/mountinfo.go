// Package mountinfo reads a /proc/PID/mountinfo table (proc(5)):
// "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER".
package mountinfo

import (
	"slices"
	"strings"
)

// Mount is one line of the table, its fields unescaped.
type Mount struct {
	Root, Point string
	FSType      string
	Source      string
	// Super are the filesystem's own options (the v1 cgroup controllers,
	// overlay's lowerdir=...), split at their commas: a comma within a
	// value is written \054 by the kernel, so every literal one separates.
	Super []string
}

// Parse reads a table; lines that are not mountinfo's are left out.
func Parse(table string) []Mount {
	var mounts []Mount
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 6 || len(fields) < sep+4 {
			continue
		}
		m := Mount{Root: Unescape(fields[3]), Point: Unescape(fields[4]), FSType: fields[sep+1], Source: Unescape(fields[sep+2])}
		for _, o := range strings.Split(fields[sep+3], ",") {
			m.Super = append(m.Super, Unescape(o))
		}
		mounts = append(mounts, m)
	}
	return mounts
}

// Option is the value of the super option name= ("" and false when none).
func (m Mount) Option(name string) (string, bool) {
	for _, o := range m.Super {
		if v, ok := strings.CutPrefix(o, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// Unescape undoes the kernel's octal escapes (\040 for a space, \134 for
// a backslash).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Below returns p relative to root (a mount's Root), if p is root or below
// it: where a path of the mounted filesystem is under the mount point.
func Below(p, root string) (string, bool) {
	switch {
	case root == "/":
		return p, true
	case p == root:
		return "/", true
	case strings.HasPrefix(p, root+"/"):
		return p[len(root):], true
	}
	return "", false
}
