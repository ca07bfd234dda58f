package main

import (
	"strings"

	"github.com/cnsenter/cnsenter/runtime"
)

// help is the help text, with each runtime's options and references as it
// registered them.
func help() string {
	var opts, refs []string
	for _, rt := range runtime.Registered() {
		for _, o := range rt.Options {
			line := "     --" + o.Name + " " + o.Arg
			lines := strings.Split(o.Help, "\n")
			if len(line) < 30 {
				line += strings.Repeat(" ", 30-len(line))
			} else {
				line += " " // as the text's other long ones
			}
			opts = append(opts, line+" "+lines[0])
			for _, l := range lines[1:] {
				opts = append(opts, strings.Repeat(" ", 31)+l)
			}
		}
		refs = append(refs, rt.Name+"://"+rt.Syntax)
	}
	text := strings.Replace(helpText, "{{runtime options}}", strings.Join(opts, "\n")+"\n", 1)
	// The references, wrapped as the rest of the text is.
	var b strings.Builder
	width := len(" <container> is ")
	for i, r := range refs {
		if i > 0 {
			b.WriteString(",")
			width++
			if width+len(r)+1 > 78 {
				b.WriteString("\n")
				width = 0
			}
			b.WriteString(" ")
			width++
		}
		b.WriteString(r)
		width += len(r)
	}
	return strings.Replace(text, "{{references}}", b.String(), 1)
}

const helpText = `
Usage:
 cnsenter [options] [<program> [<argument>...]]

Run a program with namespaces of other processes or of containers.

Options:
 -a, --all                     enter all namespaces
 -t, --target <PID[:inode]|container>
                               target process (or container) to get namespaces from
 -m, --mount[=<file>|=:<nsid>] enter mount namespace
 -u, --uts[=<file>|=:<nsid>]   enter UTS namespace (hostname etc)
 -i, --ipc[=<file>|=:<nsid>]   enter System V IPC namespace
 -n, --net[=<file>|=:<nsid>]   enter network namespace
 -N, --net-socket <fd>         enter socket's network namespace (needs --target)
 -p, --pid[=<file>|=:<nsid>]   enter pid namespace
 -C, --cgroup[=<file>|=:<nsid>]  enter cgroup namespace
 -U, --user[=<file>|=:<nsid>]  enter user namespace
     --user-parent             enter parent user namespace
 -T, --time[=<file>|=:<nsid>]  enter time namespace
 -S, --setuid <uid|follow>     set uid in entered namespace
 -G, --setgid <gid|follow>     set gid in entered namespace
     --preserve-credentials    do not touch uids or gids
     --keep-caps               retain capabilities granted in user namespaces
 -r, --root[=<dir>]            set the root directory
 -w, --wd[=<dir>]              set the working directory
 -W, --wdns <dir>              set the working directory in namespace
 -e, --env                     inherit environment variables from target process
 -F, --no-fork                 do not fork before exec'ing <program>
 -c, --join-cgroup             join the cgroups of the target process
 -Z, --follow-context          set SELinux context according to --target PID

Containers (cnsenter only):
     --list                    list running containers of every reachable runtime
     --json                    with --list: print JSON
{{runtime options}}     --timeout <duration>      deadline of each engine call (default 5s; CNSENTER_TIMEOUT)
     --confine                 run as the container's own processes: its user,
                               capabilities, no_new_privileges, seccomp filter,
                               AppArmor/SELinux and (unless --env) environment, from
                               its OCI spec; -S and -G override its uid and gid (a
                               container --target only)

Debugging (cnsenter only):
     --host-tools              the target's namespaces but mount, with the host's files
                               and the target's root at --container-root ($CONTAINER_ROOT)
                               and its own /proc; alone, it means every namespace
                               (a container that runs no process: the host's namespaces,
                               its files as it left them, read-only)
     --image <runtime://image> with --host-tools, no --target: an image's files,
                               read-only at --container-root
     --container-root <dir>    where --host-tools mounts the target's root (default /mnt)
     --read-only               the target's files are read-only for this session
                               (with --host-tools, its links are not followed)
     --nosymfollow             with --host-tools: do not follow the target's links,
                               which would resolve in the host's files
     --audit-log <file>        append a JSON record when the session starts and ends
                               (default: CNSENTER_AUDIT_LOG)
     --freeze                  with --read-only (or --evidence): freeze the container's
                               processes (its cgroup) for the session, and thaw them
                               when it ends, however it ends; one frozen already
                               (docker pause) stays frozen
     --evidence <dir>          write the container's evidence bundle into <dir> (new
                               or empty): engine records, OCI spec, processes,
                               sockets, mounts, its writable layer's changes, with
                               MANIFEST.sha256; read from the host, nothing run
                               (a container that runs no process: from its engine's
                               state, no --host-tools needed)

 <container> is {{references}}, or a bare name.

 -h, --help                    display this help
 -V, --version                 display version

For more details see nsenter(1) and README.md.
`
