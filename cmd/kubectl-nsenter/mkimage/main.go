// mkimage writes the cnsenter container image as one tarball, with no
// registry and no container engine: an OCI image layout (index.json,
// blobs/sha256) that also carries docker save's manifest.json, so that
// `ctr images import`, `docker load` and `podman load` all take it.
//
//	mkimage -o OUT.tar -tag REF [-tag REF...] [-bin DIR] SRC[:DEST]...
//
// Each SRC file goes into the one layer at DEST (default
// /usr/local/bin/BASENAME), mode kept; every file must be a static ELF
// program (no dynamic loader in the image: it has no libraries). -link
// NAME=TARGET adds a symbolic link (busybox's applets). The layer is
// reproducible: sorted, owner 0, mtime 0.
package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

type entry struct {
	name  string // without leading /
	mode  int64
	data  []byte
	link  string
	isDir bool
}

func main() {
	out := flag.String("o", "", "output tarball")
	var tags, links list
	flag.Var(&tags, "tag", "image reference (repeatable)")
	flag.Var(&links, "link", "NAME=TARGET symbolic link (repeatable)")
	flag.Parse()
	if *out == "" || len(tags) == 0 || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: mkimage -o OUT.tar -tag REF [-link NAME=TARGET...] SRC[:DEST]...")
		os.Exit(2)
	}
	if err := run(*out, tags, links, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(out string, tags, links []string, files []string) error {
	entries := map[string]*entry{}
	addDir := func(d string) {
		for d != "." && d != "/" && d != "" {
			if _, ok := entries[d]; !ok {
				entries[d] = &entry{name: d, mode: 0o755, isDir: true}
			}
			d = path.Dir(d)
		}
	}
	for _, d := range []string{"tmp", "proc", "sys", "dev", "run", "etc", "mnt", "root"} {
		addDir(d)
	}
	entries["tmp"].mode = 0o1777
	entries["etc/passwd"] = &entry{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\n")}
	entries["etc/group"] = &entry{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\n")}
	for _, f := range files {
		src, dest, _ := strings.Cut(f, ":")
		if dest == "" {
			dest = "/usr/local/bin/" + filepath.Base(src)
		}
		fi, err := os.Stat(src)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := checkStatic(src, data); err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean(dest), "/")
		addDir(path.Dir(name))
		entries[name] = &entry{name: name, mode: int64(fi.Mode().Perm()), data: data}
	}
	for _, l := range links {
		name, target, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-link %q: NAME=TARGET", l)
		}
		name = strings.TrimPrefix(path.Clean(name), "/")
		if _, exists := entries[name]; exists {
			continue
		}
		addDir(path.Dir(name))
		entries[name] = &entry{name: name, mode: 0o777, link: target}
	}

	var names []string
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	epoch := time.Unix(0, 0)
	for _, n := range names {
		e := entries[n]
		h := &tar.Header{Name: n, Mode: e.mode, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case e.isDir:
			h.Typeflag, h.Name = tar.TypeDir, n+"/"
		case e.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layerDigest := digest(layer.Bytes())

	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
		"config": map[string]any{
			"Env":        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"Entrypoint": []string{"/usr/local/bin/cnsenter"},
			"WorkingDir": "/",
			"Labels":     map[string]string{"org.opencontainers.image.title": "cnsenter"},
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerDigest}},
		"history": []map[string]any{{"created": "1970-01-01T00:00:00Z", "created_by": "cnsenter make image"}},
	})
	configDigest := digest(config)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json",
			"digest": "sha256:" + configDigest, "size": len(config)},
		"layers": []map[string]any{{"mediaType": "application/vnd.oci.image.layer.v1.tar",
			"digest": "sha256:" + layerDigest, "size": layer.Len()}},
	})
	manifestDigest := digest(manifest)
	var descs []map[string]any
	for _, t := range tags {
		descs = append(descs, map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json",
			"digest":    "sha256:" + manifestDigest, "size": len(manifest),
			"annotations": map[string]string{
				"io.containerd.image.name":          t,
				"org.opencontainers.image.ref.name": refName(t),
			},
		})
	}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2,
		"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs})
	dockerManifest, _ := json.Marshal([]map[string]any{{
		"Config": "blobs/sha256/" + configDigest, "RepoTags": tags,
		"Layers": []string{"blobs/sha256/" + layerDigest}}})

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	ow := tar.NewWriter(f)
	files2 := []struct {
		name string
		data []byte
	}{
		{"blobs/sha256/" + configDigest, config},
		{"blobs/sha256/" + layerDigest, layer.Bytes()},
		{"blobs/sha256/" + manifestDigest, manifest},
		{"index.json", index},
		{"manifest.json", dockerManifest},
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := ow.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	for _, e := range files2 {
		if err := ow.WriteHeader(&tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: 0o644,
			Size: int64(len(e.data)), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := ow.Write(e.data); err != nil {
			return err
		}
	}
	if err := ow.Close(); err != nil {
		return err
	}
	return f.Close()
}

// refName is the tag part of a reference (OCI's ref.name), else latest.
func refName(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return "latest"
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkStatic refuses an ELF program that needs a dynamic loader: the
// image holds no libraries.
func checkStatic(name string, data []byte) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: not an ELF program: %w", name, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: dynamically linked (it needs a loader and libraries the image does not have): build it static", name)
		}
	}
	return nil
}
