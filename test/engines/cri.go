package engines

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kubernetes pods, for the tests of cri:// references: containerd's CRI
// plugin on the test containerd, driven by crictl (cri-tools) as a kubelet
// would drive it. No CNI: the pods have the host's network. No registry:
// the sandbox (pause) image, a static program of ours, and the busybox image
// are imported into containerd's k8s.io namespace under the names the
// plugin and the pods ask for, so that nothing is ever pulled.

// CRIImage is the test image as the pods' containers name it.
const CRIImage = "docker.io/" + BusyboxImage + ":latest"

// StartCRI starts engines, as Start, with containerd's CRI plugin on:
// restrict_oom_score_adj (root here may not lower oom_score_adj: the
// sandbox's -998 would fail), no CNI configuration of the host's, the
// pause image the plugin expects under its exact name. Stop removes every
// pod. Only the CRI tests ask for it: the other tests' containerd stays
// as it was.
func StartCRI() (*Engines, error) { return start(true, Options{}) }

// sandboxImage is the pause image each generation's CRI plugin runs pods
// with (crictl info: sandboxImage, or pinnedImages.sandbox).
func sandboxImage(generation string) string {
	if generation == Current {
		return "registry.k8s.io/pause:3.10.2"
	}
	return "registry.k8s.io/pause:3.6"
}

// criDisabled are the plugins left off when CRI is on: NRI, which no test
// uses (containerd 2).
func criDisabled(generation string) string {
	if generation == Current {
		return `"io.containerd.nri.v1.nri"`
	}
	return ""
}

// criConfig is the CRI plugin's part of containerd's configuration: its
// CNI directories are ours and empty (host networking needs no CNI, and the
// host's /etc/cni is not read or created).
func (e *Engines) criConfig() string {
	cni := filepath.Join(e.Dir, "cni")
	if e.Generation == Current {
		return fmt.Sprintf(`[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [%q]
    conf_dir = %q
[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = %q
`, filepath.Join(cni, "bin"), filepath.Join(cni, "net.d"), sandboxImage(e.Generation))
	}
	return fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  sandbox_image = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, sandboxImage(e.Generation), filepath.Join(cni, "bin"), filepath.Join(cni, "net.d"))
}

// CRIEndpoint is the CRI socket: containerd's own.
func (e *Engines) CRIEndpoint() string { return "unix://" + e.ContainerdAddress }

// startCRI finds crictl, then imports the pause and busybox images into
// k8s.io, and waits for the plugin to see them.
func (e *Engines) startCRI() error {
	var err error
	if e.crictl, err = crictlPath(); err != nil {
		return err
	}
	config := fmt.Sprintf("runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 30\npull-image-on-create: false\n", e.CRIEndpoint(), e.CRIEndpoint())
	if err := os.WriteFile(filepath.Join(e.Dir, "crictl.yaml"), []byte(config), 0o644); err != nil {
		return err
	}
	if err := e.waitFor("containerd's CRI plugin", func() error { _, err := e.Crictl("version"); return err }); err != nil {
		return err
	}
	pause := filepath.Join(e.Dir, "pause")
	if err := os.MkdirAll(pause, 0o755); err != nil {
		return err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(pause, "pause"), "github.com/cnsenter/cnsenter/test/engines/pause")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building the pause program: %w: %s", err, out)
	}
	tar := exec.Command("tar", "-C", pause, "-c", ".")
	var archive strings.Builder
	tar.Stdout = &archive
	if err := tar.Run(); err != nil {
		return err
	}
	imp := exec.Command("docker", "-H", e.DockerHost, "import", "--change", `ENTRYPOINT ["/pause"]`, "-", sandboxImage(e.Generation))
	imp.Stdin = strings.NewReader(archive.String())
	if _, err := run(imp); err != nil {
		return err
	}
	for _, image := range []string{sandboxImage(e.Generation), BusyboxImage} {
		saved := filepath.Join(e.Dir, "image.tar")
		if _, err := e.Docker("save", "-o", saved, image); err != nil {
			return err
		}
		_, err := e.Ctr("-n", "k8s.io", "images", "import", saved)
		os.Remove(saved)
		if err != nil {
			return err
		}
	}
	return e.waitFor("the CRI plugin's images", func() error {
		out, err := e.Crictl("images", "-q", sandboxImage(e.Generation))
		if err == nil && out == "" {
			err = errors.New("the pause image is not seen yet")
		}
		return err
	})
}

// crictlPath is CNSENTER_CRICTL, else the crictl in the directory
// build-crictl.sh prints: it builds crictl from cri-tools' module the
// first time.
func crictlPath() (string, error) {
	if path := os.Getenv("CNSENTER_CRICTL"); path != "" {
		return path, nil
	}
	dir, err := cachedBuild("build-crictl.sh", "CNSENTER_CRICTL is not set and build-crictl.sh is not found: run make crictl, then set it to the crictl it builds")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "crictl"), nil
}

// Crictl runs crictl against the test containerd's CRI plugin, with a
// configuration of ours (never the host's /etc/crictl.yaml).
func (e *Engines) Crictl(args ...string) (string, error) {
	return run(exec.Command(e.crictl, append([]string{"--config", filepath.Join(e.Dir, "crictl.yaml")}, args...)...))
}

// podCgroupParent is the cgroup of this run's pods, in every hierarchy:
// theirs alone, as the kubelet gives its pods one (/kubepods).
func (e *Engines) podCgroupParent() string {
	return "cnsenter-pods-" + filepath.Base(e.Dir)
}

// Pod is a pod the test made.
type Pod struct {
	ID, Namespace, Name string
	Containers          map[string]string // container name to ID
}

// RunPod makes a ready pod with the host's network and, in it, a running
// container of the busybox image for each name, with the labels a kubelet
// puts on them. Each writes NAMESPACE/POD/CONTAINER to its /tmp/who, for
// the tests to see which one they entered, then sleeps.
func (e *Engines) RunPod(namespace, name string, containers ...string) (*Pod, error) {
	dir, err := os.MkdirTemp(e.Dir, "pod-")
	if err != nil {
		return nil, err
	}
	uid := filepath.Base(dir)
	// network NODE (2): no CNI; pid CONTAINER (1), the kubelet's default.
	// No hostname: runc refuses one without a UTS namespace of its own.
	namespaces := map[string]any{"network": 2, "pid": 1}
	podConfig := map[string]any{
		"metadata": map[string]any{"name": name, "namespace": namespace, "uid": uid},
		"labels":   map[string]string{"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.uid": uid},
		"linux": map[string]any{"cgroup_parent": "/" + e.podCgroupParent(),
			"security_context": map[string]any{"namespace_options": namespaces}},
	}
	podFile := filepath.Join(dir, "pod.json")
	if err := writeJSON(podFile, podConfig); err != nil {
		return nil, err
	}
	id, err := e.Crictl("runp", podFile)
	if err != nil {
		return nil, err
	}
	pod := &Pod{ID: id, Namespace: namespace, Name: name, Containers: map[string]string{}}
	for _, c := range containers {
		ctrConfig := map[string]any{
			"metadata": map[string]any{"name": c},
			"image":    map[string]any{"image": CRIImage},
			"command":  []string{"/bin/sh", "-c", "echo " + namespace + "/" + name + "/" + c + " >/tmp/who && exec sleep 100000"},
			"labels": map[string]string{"io.kubernetes.container.name": c, "io.kubernetes.pod.name": name,
				"io.kubernetes.pod.namespace": namespace, "io.kubernetes.pod.uid": uid},
			"linux": map[string]any{"security_context": map[string]any{"namespace_options": namespaces}},
		}
		ctrFile := filepath.Join(dir, c+".json")
		if err := writeJSON(ctrFile, ctrConfig); err != nil {
			return pod, err
		}
		cid, err := e.Crictl("create", "--no-pull", id, ctrFile, podFile)
		if err != nil {
			return pod, err
		}
		pod.Containers[c] = cid
		if _, err := e.Crictl("start", cid); err != nil {
			return pod, err
		}
	}
	return pod, nil
}

// RemovePod stops and removes a pod and its containers.
func (e *Engines) RemovePod(id string) error {
	if _, err := e.Crictl("stopp", id); err != nil {
		return err
	}
	_, err := e.Crictl("rmp", "-f", id)
	return err
}

// removePods removes every pod of the CRI plugin.
func (e *Engines) removePods() error {
	ids, err := e.Crictl("pods", "-q")
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range strings.Fields(ids) {
		errs = append(errs, e.RemovePod(id))
	}
	return errors.Join(errs...)
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
