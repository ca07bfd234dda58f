package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultHost is Docker's own default endpoint.
const DefaultHost = "unix:///var/run/docker.sock"

// EndpointOptions are what can choose the Docker endpoint, strongest first,
// in the docker CLI's own order: -H, --context, DOCKER_HOST, DOCKER_CONTEXT,
// currentContext of the CLI's config.json, then DefaultHost.
type EndpointOptions struct {
	Host      string // -H, --docker-host
	Context   string // --context
	ConfigDir string // --config; else DOCKER_CONFIG, else ~/.docker
}

// Endpoint finds the Docker endpoint, which must be a local unix socket:
// namespaces can only be entered on this machine.
func Endpoint(o EndpointOptions) (string, error) {
	host, err := endpoint(o)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(host, "unix://") {
		return "", fmt.Errorf("Docker endpoint %s is not a local unix socket: namespaces can only be entered on this machine (set DOCKER_HOST=unix:///PATH or --docker-host)", host)
	}
	return host, nil
}

func endpoint(o EndpointOptions) (string, error) {
	switch {
	case o.Host != "":
		return o.Host, nil
	case o.Context != "":
		return contextHost(o.Context, configDir(o.ConfigDir))
	case os.Getenv("DOCKER_HOST") != "":
		return os.Getenv("DOCKER_HOST"), nil
	case os.Getenv("DOCKER_CONTEXT") != "":
		return contextHost(os.Getenv("DOCKER_CONTEXT"), configDir(o.ConfigDir))
	}
	dir := configDir(o.ConfigDir)
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return DefaultHost, nil
	}
	if err != nil {
		return "", fmt.Errorf("cannot read the docker CLI's configuration: %w", err)
	}
	var config struct{ CurrentContext string }
	if err := json.Unmarshal(data, &config); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	if config.CurrentContext == "" {
		return DefaultHost, nil
	}
	return contextHost(config.CurrentContext, dir)
}

func configDir(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return dir
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker")
}

// contextHost reads a docker context's endpoint, stored under the SHA-256
// of the context's name.
func contextHost(name, dir string) (string, error) {
	if name == "default" {
		if host := os.Getenv("DOCKER_HOST"); host != "" {
			return host, nil
		}
		return DefaultHost, nil
	}
	sum := sha256.Sum256([]byte(name))
	path := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("docker context %q: %w (see 'docker context ls')", name, err)
	}
	var meta struct {
		Endpoints map[string]struct{ Host string }
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return "", fmt.Errorf("docker context %q: %s: %w", name, path, err)
	}
	host := meta.Endpoints["docker"].Host
	if host == "" {
		return "", fmt.Errorf("docker context %q has no Docker endpoint", name)
	}
	return host, nil
}
