// Command demo shows what cnsenter is for, on a container whose image holds
// one static binary and nothing else: no shell, no ps, no ip. It uses the
// running Docker engine if there is one, else starts the tests' private
// engines; it prints each command before running it, and removes what it
// made. Run it as root: make demo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cnsenter/cnsenter/runtime/docker"
	"github.com/cnsenter/cnsenter/test/engines"
)

const (
	image     = "cnsenter-demo/noshell"
	container = "cnsenter-demo"
)

func main() {
	bin := flag.String("bin", "bin", "directory of the built binaries")
	flag.Parse()
	if err := run(*bin); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(bin string) error {
	if os.Geteuid() != 0 {
		return errors.New("entering containers needs root: sudo make demo")
	}
	bin, _ = filepath.Abs(bin)
	work, err := os.MkdirTemp("", "cnsenter-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	env := os.Environ()
	if !dockerAnswers() {
		fmt.Println("# No Docker engine answers here: starting a private containerd and dockerd (as the tests do).")
		e, err := engines.Start()
		if err != nil {
			return err
		}
		defer e.Stop()
		env = append(env, e.Env()...)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)

	// docker nsenter, installed for this run only.
	config := filepath.Join(work, "docker-config")
	if err := linkPlugin(filepath.Join(bin, "docker-nsenter"), filepath.Join(config, "cli-plugins", "docker-nsenter")); err != nil {
		return fmt.Errorf("docker-nsenter is not built (make build): %w", err)
	}
	env = append(env, "DOCKER_CONFIG="+config, "PATH="+bin+":"+os.Getenv("PATH"))

	// The image: one static binary that waits.
	root := filepath.Join(work, "rootfs")
	build := exec.Command("go", "build", "-o", filepath.Join(root, "pause"), "github.com/cnsenter/cnsenter/test/engines/pause")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the demo's binary: %w: %s", err, out)
	}
	quiet(env, "docker", "rm", "-f", container) // a run stopped half-way
	defer quiet(env, "docker", "rmi", "-f", image)
	defer quiet(env, "docker", "rm", "-f", container)
	tar := fmt.Sprintf("tar -C %s -c . | docker import - %s", root, image)
	if err := quiet(env, "sh", "-c", tar); err != nil {
		return err
	}
	if err := quiet(env, "docker", "run", "-d", "--name", container, "--hostname", "demo", image, "/pause"); err != nil {
		return err
	}
	log := filepath.Join(work, "audit.log")

	steps := []struct{ comment, command string }{
		{"The image has no shell and no tools: docker exec has nothing to run.",
			"docker exec " + container + " ps"},
		{"Host tools: the host's ps, in the container's PID namespace (a /proc of its own).",
			"docker nsenter --host-tools " + container + " ps -ef"},
		{"The host's ip, in the container's network namespace.",
			"docker nsenter --host-tools " + container + " ip addr"},
		{"The container's files, as the container sees them, at $CONTAINER_ROOT.",
			"docker nsenter --host-tools " + container + " sh -c 'ls -l $CONTAINER_ROOT; cat $CONTAINER_ROOT/etc/hostname'"},
		{"Every running container of every runtime.",
			"cnsenter --list"},
		{"cnsenter is nsenter: a container reference instead of a PID, the host's ss in its network.",
			"cnsenter -t docker://" + container + " -n ss -ltn"},
		{"An audit: no cgroup joined, the container's files read-only, every session logged.",
			"docker nsenter --host-tools --read-only --no-cgroup --audit-log " + log + " " + container + " sh -c 'touch $CONTAINER_ROOT/evidence'"},
		{"The audit log: one JSON line when the session started, one when it ended.",
			"cat " + log},
	}
	for _, s := range steps {
		select {
		case <-stop:
			return errors.New("interrupted")
		default:
		}
		fmt.Printf("\n# %s\n$ %s\n", s.comment, s.command)
		cmd := exec.Command("sh", "-c", s.command)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stdout, os.Stdout
		if err := cmd.Run(); err != nil {
			fmt.Printf("(exit status %d)\n", cmd.ProcessState.ExitCode())
		}
	}
	fmt.Println("\n# Done: the container, its image and everything the demo made are removed.")
	return nil
}

// dockerAnswers tells whether the Docker engine the docker CLI would use
// answers.
func dockerAnswers() bool {
	host, err := docker.Endpoint(docker.EndpointOptions{})
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "-H", host, "version").Run() == nil
}

func quiet(env []string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// linkPlugin installs the plugin as a link: it finds its helpers
// (docker-nsenter-go, cnsenter-enter) beside the binary it links to.
func linkPlugin(from, to string) error {
	from, err := filepath.Abs(from)
	if err != nil {
		return err
	}
	if _, err := os.Stat(from); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.Symlink(from, to)
}
