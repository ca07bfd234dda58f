package podman

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cnsenter/cnsenter/internal/cgroupname"
	"github.com/cnsenter/cnsenter/runtime"
)

// The files of a container that does not run, and of an image, are
// containers/storage's layers: STORAGE_ROOT/overlay/ID/diff, each layer's
// parent in overlay-layers/layers.json (volatile-layers.json too, and the
// run root's for a transient store); a container's top layer is its
// record's, an image's its record's in overlay-images/images.json. Its
// bind mounts and volumes are its OCI spec's (the bundle's config.json).
// Every ID that becomes a path is 64 hex digits.

// layerRecord is the part of a layers.json entry that is used.
type layerRecord struct {
	ID     string `json:"id"`
	Parent string `json:"parent"`
}

// readJSON reads one of containers/storage's files, rel under base (the
// store's root or run root), as readBeneath does.
func (st *store) readJSON(base, rel string, v any) error {
	data, err := readBeneath(base, rel, st.uid, jsonLimit)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// layers are the directories of a layer of a store and its parents,
// topmost first.
func (st *store) layers(driver, top string) ([]string, error) {
	if driver != "overlay" {
		return nil, fmt.Errorf("the %s storage driver: only overlay's layers are read", driver)
	}
	parents := map[string]string{}
	for _, dir := range []string{st.root, st.runRoot} {
		for _, name := range []string{"layers.json", "volatile-layers.json"} {
			var list []layerRecord
			if err := st.readJSON(dir, filepath.Join("overlay-layers", name), &list); err != nil {
				continue // a store has some of them only
			}
			for _, l := range list {
				parents[l.ID] = l.Parent
			}
		}
	}
	var ids []string
	for id := top; id != ""; id = parents[id] {
		if !cgroupname.IsID(id) {
			return nil, fmt.Errorf("layer %q is not a layer ID", id)
		}
		if _, ok := parents[id]; !ok {
			return nil, fmt.Errorf("no layer %s in the store", id)
		}
		if len(ids) > 500 {
			return nil, fmt.Errorf("the layers' parents make a loop")
		}
		ids = append(ids, id)
	}
	return st.layerDirs(ids)
}

// ContainerFiles reads the layers and bind mounts of a container that does
// not run, from the store that holds it: the caller's, or (root) another
// user's rootless one.
func (a *Adapter) ContainerFiles(ctx context.Context, c runtime.Container) (runtime.Files, error) {
	fail := func(err error) (runtime.Files, error) {
		return runtime.Files{}, &runtime.Error{Runtime: "podman", Endpoint: a.Endpoint(), Ref: c.Ref(),
			Detail: fmt.Sprintf("Podman's store (%s): %v", a.Endpoint(), err), Err: err}
	}
	stores := []*store{a.own}
	if a.others {
		stores = append(stores, a.otherStores()...)
	}
	for _, st := range stores {
		records, err := a.records(st)
		if err != nil {
			continue
		}
		for _, r := range records {
			if r.ID != c.ID {
				continue
			}
			var list []struct {
				ID    string `json:"id"`
				Layer string `json:"layer"`
			}
			if err := st.readJSON(st.root, filepath.Join(r.driver+"-containers", "containers.json"), &list); err != nil {
				return fail(err)
			}
			for _, l := range list {
				if l.ID != c.ID {
					continue
				}
				layers, err := st.layers(r.driver, l.Layer)
				if err != nil {
					return fail(err)
				}
				if len(layers) == 0 {
					return fail(fmt.Errorf("container %s has no layer", c.ID))
				}
				files := runtime.Files{Layers: layers, Mounts: st.specMounts(r)}
				if st.uid != 0 && len(files.Mounts) > 0 {
					// Another user's spec could bind any host
					// directory (/etc) into the view: not shown.
					var dests []string
					for _, m := range files.Mounts {
						dests = append(dests, m.Destination)
					}
					files.Note = fmt.Sprintf("its bind mounts (%s) are not shown: %s store names their sources, which are not checked", strings.Join(dests, ", "), whose(st.uid))
					files.Mounts = nil
				}
				return files, nil
			}
		}
	}
	return fail(fmt.Errorf("no container %s", c.ID))
}

// specMounts are the bind mounts of a container's OCI spec, but those
// Podman makes of its own files (hosts, resolv.conf, .containerenv...),
// which are under the store or the run root.
func (st *store) specMounts(r record) []runtime.Mount {
	var s struct {
		Mounts []struct {
			Destination, Type, Source string
			Options                   []string
		}
	}
	if st.readJSON(st.root, filepath.Join(r.driver+"-containers", r.ID, "userdata", "config.json"), &s) != nil {
		return nil
	}
	var list []runtime.Mount
	for _, m := range s.Mounts {
		bind := m.Type == "bind"
		for _, o := range m.Options {
			bind = bind || o == "bind" || o == "rbind"
		}
		own := strings.HasPrefix(m.Source, filepath.Join(st.root, r.driver+"-containers")+"/") || strings.HasPrefix(m.Source, st.runRoot+"/")
		if bind && !own && filepath.IsAbs(m.Source) {
			list = append(list, runtime.Mount{Source: m.Source, Destination: m.Destination})
		}
	}
	return list
}

// ImageFiles reads an image's layers: by ID, unique ID prefix or name, as
// Podman keeps names (localhost/NAME:TAG, docker.io/library/NAME:TAG), a
// name without a tag taken as :latest.
func (a *Adapter) ImageFiles(ctx context.Context, image string) (runtime.Files, error) {
	ref := "podman image " + image
	var list []struct {
		ID    string   `json:"id"`
		Names []string `json:"names"`
		Layer string   `json:"layer"`
	}
	st := a.own
	if err := st.readJSON(st.root, filepath.Join("overlay-images", "images.json"), &list); err != nil {
		return runtime.Files{}, &runtime.Error{Runtime: "podman", Endpoint: st.root, Ref: ref, Detail: fmt.Sprintf("Podman's store (%s): %v", st.root, err), Err: err}
	}
	want := image
	if last := want[strings.LastIndex(want, "/")+1:]; !strings.Contains(last, ":") && !strings.Contains(want, "@") {
		want += ":latest"
	}
	var found []int
	for i, im := range list {
		if im.ID == image {
			found = []int{i}
			break
		}
		for _, n := range im.Names {
			if n == want || n == "localhost/"+want || n == "docker.io/library/"+want || n == "docker.io/"+want {
				found = append(found, i)
			}
		}
		if len(image) >= 4 && strings.HasPrefix(im.ID, image) {
			found = append(found, i)
		}
	}
	switch {
	case len(found) == 0:
		return runtime.Files{}, &runtime.Error{Kind: runtime.NotFound, Runtime: "podman", Endpoint: st.root, Ref: ref, Detail: "no such image in Podman's store"}
	case len(found) > 1 && found[0] != found[len(found)-1]:
		return runtime.Files{}, &runtime.Error{Kind: runtime.Ambiguous, Runtime: "podman", Endpoint: st.root, Ref: ref, Detail: "names several images"}
	}
	layers, err := st.layers("overlay", list[found[0]].Layer)
	if err != nil {
		return runtime.Files{}, &runtime.Error{Runtime: "podman", Endpoint: st.root, Ref: ref, Detail: fmt.Sprintf("Podman's store (%s): %v", st.root, err), Err: err}
	}
	if len(layers) == 0 {
		return runtime.Files{}, &runtime.Error{Runtime: "podman", Endpoint: st.root, Ref: ref, Detail: "the image has no layer"}
	}
	return runtime.Files{Layers: layers}, nil
}

var _ runtime.Filesystem = (*Adapter)(nil)
