// Package passwd looks up users and groups in a container's /etc/passwd
// and /etc/group the way docker exec --user does, reading them with
// openat2(RESOLVE_IN_ROOT) so that a symbolic link in the image cannot lead
// the lookup out of the container's root into the host's files.
package passwd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxFile bounds what is read of each file: a hostile image may make it huge.
const maxFile = 4 << 20

// User is who the program runs as.
type User struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
}

// Entry is one line of /etc/passwd or /etc/group: name, id, and for a
// passwd line its primary group, for a group line its members.
type Entry struct {
	Name    string
	ID      uint32
	GID     uint32
	Members []string
}

// Parse reads passwd (members false) or group (members true) lines; lines
// that are not well formed are skipped, as the C library does.
func Parse(r io.Reader, group bool) []Entry {
	var entries []Entry
	s := bufio.NewScanner(io.LimitReader(r, maxFile))
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		f := strings.Split(s.Text(), ":")
		if len(f) < 3 || f[0] == "" || (!group && len(f) < 4) {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		e := Entry{Name: f[0], ID: uint32(id)}
		if group {
			if len(f) > 3 && f[3] != "" {
				e.Members = strings.Split(f[3], ",")
			}
		} else if gid, err := strconv.ParseUint(f[3], 10, 32); err == nil {
			e.GID = uint32(gid)
		} else {
			continue
		}
		entries = append(entries, e)
	}
	return entries
}

// Lookup resolves USER[:GROUP] (names or numbers) against the files below
// root, a directory descriptor of the container's root. As with docker, a
// number not in /etc/passwd is taken as is with gid 0, and the user's
// supplementary groups are its primary group and, when no GROUP is given,
// the groups that list it.
func Lookup(root int, spec string) (User, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || hasGroup && groupPart == "" {
		return User{}, fmt.Errorf("--user %q: give USER or USER:GROUP, names or numbers", spec)
	}
	users, err := readEntries(root, "etc/passwd", false)
	if err != nil {
		return User{}, err
	}
	var u User
	var name string
	if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u.UID = uint32(n)
		for _, e := range users {
			if e.ID == u.UID {
				u.GID, name = e.GID, e.Name
				break
			}
		}
	} else {
		found := false
		for _, e := range users {
			if e.Name == userPart {
				u.UID, u.GID, name, found = e.ID, e.GID, e.Name, true
				break
			}
		}
		if !found {
			return User{}, fmt.Errorf("unable to find user %s: no matching entries in the container's /etc/passwd", userPart)
		}
	}
	groups, err := readEntries(root, "etc/group", true)
	if err != nil {
		return User{}, err
	}
	if hasGroup {
		if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID = uint32(n)
		} else {
			found := false
			for _, g := range groups {
				if g.Name == groupPart {
					u.GID, found = g.ID, true
					break
				}
			}
			if !found {
				return User{}, fmt.Errorf("unable to find group %s: no matching entries in the container's /etc/group", groupPart)
			}
		}
	}
	// As docker exec: the primary group, then, when no group was given
	// (initgroups(3)'s case), the groups naming the user.
	u.Groups = []uint32{u.GID}
	if name != "" && !hasGroup {
		for _, g := range groups {
			if g.ID != u.GID && slices.Contains(g.Members, name) {
				u.Groups = append(u.Groups, g.ID)
			}
		}
	}
	return u, nil
}

// LookupGroups resolves groups given as names or numbers (Docker's
// --group-add) against the /etc/group below root: a number is taken as is,
// a name must be there.
func LookupGroups(root int, names []string) ([]uint32, error) {
	if len(names) == 0 {
		return nil, nil
	}
	groups, err := readEntries(root, "etc/group", true)
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for _, name := range names {
		if n, err := strconv.ParseUint(name, 10, 32); err == nil {
			ids = append(ids, uint32(n))
			continue
		}
		found := false
		for _, g := range groups {
			if g.Name == name {
				ids, found = append(ids, g.ID), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unable to find group %s: no matching entries in the container's /etc/group", name)
		}
	}
	return ids, nil
}

// readEntries reads a file below root without leaving it; a missing file
// has no entries.
func readEntries(root int, name string, group bool) ([]Entry, error) {
	fd, err := unix.Openat2(root, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the container's /%s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("the container's /%s is not a regular file", name)
	}
	return Parse(f, group), nil
}
