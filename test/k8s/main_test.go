// Package k8s tests kubectl nsenter against a real single-node Kubernetes
// (v1.37.2 on containerd's CRI, loopback only, no registry), which
// cluster.sh beside this file builds once (make k8s) and TestMain starts
// and stops. Without the built cluster, or as non-root, or when its ports
// are taken, every test skips with the reason.
package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	kdir     string // cluster.sh's $K
	ctrbin   string // containerd, runc, ctr
	plugin   string // kubectl-nsenter under test
	imageTar string // make image's tarball
	image    string // its reference
	sock     string // the node's containerd socket
	skipWhy  string // set when the cluster cannot run: every test skips
	script   string // cluster.sh
	// extraArgs go to every kubectl nsenter run (CNSENTER_K8S_ARGS,
	// space-separated: a developer's knob, e.g. --reference cgroup).
	extraArgs []string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func testMain(m *testing.M) int {
	root := repoRoot()
	script = filepath.Join(root, "test", "k8s", "cluster.sh")
	kdir = envOr("CNSENTER_K8S_DIR", "/var/tmp/k8s-local/v1.37.2")
	ctrbin = envOr("CNSENTER_ENGINES_DIR", filepath.Join(kdir, "bin"))
	plugin = envOr("CNSENTER_K8S_PLUGIN", filepath.Join(root, "bin", "kubectl-nsenter"))
	imageTar = envOr("CNSENTER_K8S_IMAGE", filepath.Join(root, "dist", "cnsenter-image.tar"))
	sock = filepath.Join(kdir, "containerd", "containerd.sock")
	if a := os.Getenv("CNSENTER_K8S_ARGS"); a != "" {
		extraArgs = strings.Fields(a)
	}
	if skipWhy = why(); skipWhy != "" {
		fmt.Println("k8s: every test skips:", skipWhy)
		return m.Run()
	}
	var err error
	if image, err = imageRef(imageTar); err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		return 1
	}
	// Whatever happens from here, the cluster stops: on return, and on
	// SIGINT/SIGTERM (go test's -timeout sends SIGQUIT, which nothing
	// catches: then `make k8s-stop`).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		cluster("stop")
		os.RemoveAll(filepath.Join(kdir, "etcd-data"))
		os.Exit(1)
	}()
	// A cluster of this run's own: no object of an earlier run's (whose
	// stop may not have come) is seen or kept.
	etcd := filepath.Join(kdir, "etcd-data")
	os.RemoveAll(etcd)
	defer func() {
		cluster("stop")
		os.RemoveAll(etcd)
	}()
	start := time.Now()
	for _, step := range []string{"certs", "images", "start"} {
		if out, err := cluster(step); err != nil {
			cluster("stop")
			// The cluster was built but does not start here: say why,
			// loudly, and skip (a machine without what kubelet needs).
			skipWhy = fmt.Sprintf("cluster.sh %s failed: %v\n%s", step, err, tail(out, 15))
			fmt.Println("k8s: every test skips:", skipWhy)
			return m.Run()
		}
	}
	if out, err := run(filepath.Join(ctrbin, "ctr"), "-a", sock, "-n", "k8s.io", "images", "import", imageTar); err != nil {
		fmt.Fprintf(os.Stderr, "k8s: importing %s: %v\n%s", imageTar, err, out)
		return 1
	}
	// Pods in namespace default need its service account, which the
	// controller manager makes a moment after the node is Ready.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if _, err := kubectlErr("", "--request-timeout=5s", "get", "serviceaccount", "default", "-n", "default"); err == nil {
			break
		} else if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "k8s: no service account default/default after a minute: %v\n", err)
			return 1
		}
	}
	fmt.Printf("k8s: Kubernetes v1.37.2 up, %s imported, in %s\n", image, time.Since(start).Round(time.Second))
	return m.Run()
}

// why says why the cluster cannot run here, or "".
func why() string {
	if os.Geteuid() != 0 {
		return "not root (the cluster's kubelet and containerd need root)"
	}
	for _, b := range []string{"kube-apiserver", "kubelet", "kubectl", "kube-controller-manager", "kube-scheduler", "etcd", "crictl"} {
		if _, err := os.Stat(filepath.Join(kdir, "bin", b)); err != nil {
			return fmt.Sprintf("Kubernetes is not built in %s (%s missing): make k8s builds it once (about 25 minutes)", kdir, b)
		}
	}
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc"} {
		if _, err := os.Stat(filepath.Join(ctrbin, b)); err != nil {
			return fmt.Sprintf("no %s in %s (CNSENTER_ENGINES_DIR: make engines)", b, ctrbin)
		}
	}
	for _, f := range []string{plugin, imageTar} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Sprintf("%s missing: make image", f)
		}
	}
	for _, port := range []string{"6443", "2379", "2380", "10250", "10257", "10259"} {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			return "port " + port + " is in use (another cluster running? cluster.sh stop)"
		}
	}
	return ""
}

func cluster(step string) (string, error) {
	cmd := exec.Command("bash", script, step)
	cmd.Env = append(os.Environ(), "K="+kdir, "CTRBIN="+ctrbin, "NODE=localhost")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func imageRef(tarball string) (string, error) {
	out, err := exec.Command("tar", "-xOf", tarball, "manifest.json").Output()
	if err != nil {
		return "", fmt.Errorf("%s: reading manifest.json: %w", tarball, err)
	}
	var m []struct{ RepoTags []string }
	if err := json.Unmarshal(out, &m); err != nil || len(m) == 0 || len(m[0].RepoTags) == 0 {
		return "", fmt.Errorf("%s: no image reference in manifest.json", tarball)
	}
	return m[0].RepoTags[0], nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func run(name string, args ...string) (string, error) {
	var b bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}
