package main

import "errors"

// resolveContainer finds the init PID of the container --target names.
func resolveContainer(inv *invocation) (int, error) {
	return 0, errors.New("--target " + inv.targetRef + ": container references are not wired yet")
}

func listContainers(inv *invocation) error {
	return errors.New("--list is not wired yet")
}
