# bash completion for cnsenter. docker nsenter completes through the docker
# CLI's own completion ("docker completion bash"), which asks the plugin.

_cnsenter_options="-a --all -t --target -m --mount -u --uts -i --ipc -n --net -N --net-socket
	-p --pid -C --cgroup -U --user --user-parent -T --time -S --setuid -G --setgid
	--preserve-credentials --keep-caps -r --root -w --wd -W --wdns -e --env -F --no-fork
	-c --join-cgroup -Z --follow-context -h --help -V --version --list --json --docker-host
	--containerd-address --podman-root --podman-runroot --podman-url --cri-endpoint --timeout --host-tools --container-root --read-only --nosymfollow --audit-log
	--confine --freeze --evidence"

# The running containers, as references, from cnsenter --list.
_cnsenter_containers() {
	cnsenter --list 2>/dev/null | awk 'NR > 1 {
		if ($1 == "docker") print "docker://" $3
		else if ($1 == "podman") print "podman://" $3
		else if ($1 == "cri") print "cri://" $2 "/" $3 # NAMESPACE/POD/CONTAINER
		else if ($1 == "cgroup") print $4 # found by its cgroup: its ID
		else print "containerd://" $2 "/" $3
	}'
}

__cnsenter_bash() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i
	# Past the program's name, complete as for the program itself.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-t | --target | -N | --net-socket | -S | --setuid | -G | --setgid | -W | --wdns | --docker-host | \
			--containerd-address | --podman-root | --podman-runroot | --podman-url | --cri-endpoint | --timeout | --container-root | --audit-log | --evidence) ((i++)) ;;
		--) ((i++)); break ;;
		-*) ;;
		*) break ;;
		esac
	done
	if ((i < COMP_CWORD)); then
		COMPREPLY=($(compgen -c -- "$cur"))
		return
	fi
	case $prev in
	-t | --target)
		if [[ $cur == [0-9]* ]]; then
			COMPREPLY=($(compgen -W "$(ls /proc | grep -E '^[0-9]+$')" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_cnsenter_containers)" -- "$cur"))
		fi
		return
		;;
	-S | --setuid | -G | --setgid)
		COMPREPLY=($(compgen -W follow -- "$cur"))
		return
		;;
	-W | --wdns | --container-root | --podman-root | --podman-runroot | --evidence)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--audit-log | --containerd-address | --cri-endpoint)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-N | --net-socket | --docker-host | --podman-url | --timeout)
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$_cnsenter_options" -- "$cur"))
	else
		COMPREPLY=($(compgen -c -- "$cur"))
	fi
}
complete -F __cnsenter_bash cnsenter
