package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tarball: an OCI layout naming the image, docker save's manifest over
// the same blobs, the files and links in one layer; a dynamic program is
// refused.
func TestImage(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "prog") // a static program: the gate, built without cgo
	build := exec.Command("go", "build", "-o", self, "../cnsenter-attach")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building a static program: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "img.tar")
	if err := run(out, []string{"localhost/x:1"}, []string{"/bin/sh=busybox"}, []string{self + ":/usr/local/bin/prog"}); err != nil {
		t.Fatal(err)
	}
	files := readTar(t, out)
	var index struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil || len(index.Manifests) != 1 ||
		index.Manifests[0].Annotations["io.containerd.image.name"] != "localhost/x:1" ||
		index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "1" {
		t.Fatalf("index.json: %s %v", files["index.json"], err)
	}
	var docker []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &docker); err != nil || len(docker) != 1 || docker[0].RepoTags[0] != "localhost/x:1" {
		t.Fatalf("manifest.json: %s %v", files["manifest.json"], err)
	}
	if _, ok := files[docker[0].Config]; !ok {
		t.Errorf("config %s missing", docker[0].Config)
	}
	layer, ok := files[docker[0].Layers[0]]
	if !ok {
		t.Fatalf("layer %s missing", docker[0].Layers[0])
	}
	tr := tar.NewReader(strings.NewReader(string(layer)))
	seen := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Name] = h.Linkname
		if h.Uid != 0 || h.ModTime.Unix() != 0 {
			t.Errorf("%s: uid %d mtime %v", h.Name, h.Uid, h.ModTime)
		}
	}
	if _, ok := seen["usr/local/bin/prog"]; !ok || seen["bin/sh"] != "busybox" {
		t.Errorf("layer: %v", seen)
	}

	if err := run(out, []string{"x"}, nil, []string{"/bin/sh"}); err == nil && isDynamic("/bin/sh") {
		t.Error("a dynamic program was accepted")
	}
}

func isDynamic(p string) bool {
	b, err := os.ReadFile(p)
	return err == nil && checkStatic(p, b) != nil
}

func readTar(t *testing.T, p string) map[string][]byte {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := tar.NewReader(f)
	m := map[string][]byte{}
	for {
		h, err := r.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		m[h.Name] = b
	}
}
