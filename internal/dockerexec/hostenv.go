package dockerexec

import "os"

// HostEnviron is the environment of a host program that has no container
// to take one from (the files of a stopped container, of an image): ours,
// with --env-file's and -e's over it, as a container's would have them.
func HostEnviron(o Options) ([]string, error) {
	env, err := readEnvFiles(o.EnvFiles)
	if err != nil {
		return nil, err
	}
	return mergeEnv(os.Environ(), append(env, o.Env...)), nil
}
