package evidence

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/cnsenter/cnsenter/runtime/docker"
)

// FromDocker fills in Docker's own records of the container and its
// image: its inspect, the image's reference, ID and registry digests, and
// its overlay2 directories (GraphDriver.Data, dockerd's graph drivers
// only), which the writable layer is taken from when the container's own
// mount table cannot be trusted or names them relatively.
func (o *Options) FromDocker(ctx context.Context, d *docker.Adapter) {
	raw, err := d.InspectJSON(ctx, o.Container.ID)
	if err != nil {
		o.EngineErr = err
		return
	}
	o.Engine = raw
	var rec struct {
		Image       string
		Config      struct{ Image string }
		GraphDriver struct{ Data map[string]string }
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		o.EngineErr = err
		return
	}
	o.Image.Reference, o.Image.ID = rec.Config.Image, rec.Image
	if img, err := d.ImageJSON(ctx, rec.Image); err == nil {
		var i struct{ RepoDigests []string }
		json.Unmarshal(img, &i)
		o.Image.RepoDigests = i.RepoDigests
	} else {
		o.Image.Note = "image record: " + err.Error()
	}
	if upper := rec.GraphDriver.Data["UpperDir"]; strings.HasPrefix(upper, "/") {
		l := &LayerPaths{Upper: upper, Source: "engine"}
		for _, lower := range strings.Split(rec.GraphDriver.Data["LowerDir"], ":") {
			if strings.HasPrefix(lower, "/") {
				l.Lowers = append(l.Lowers, lower)
			}
		}
		o.EngineLayers = l
	}
}

// canMount tells, from the OCI spec, whether the container's processes
// may hold CAP_SYS_ADMIN over its mount namespace: in their bounding set,
// or in a user namespace of their own. Without a spec, they may.
func canMount(spec []byte) bool {
	var s struct {
		Process *struct {
			Capabilities *struct{ Bounding []string } `json:"capabilities"`
		} `json:"process"`
		Linux *struct {
			Namespaces []struct{ Type string } `json:"namespaces"`
		} `json:"linux"`
	}
	if spec == nil || json.Unmarshal(spec, &s) != nil || s.Process == nil || s.Process.Capabilities == nil {
		return true
	}
	if s.Linux != nil {
		for _, ns := range s.Linux.Namespaces {
			if ns.Type == "user" {
				return true
			}
		}
	}
	for _, c := range s.Process.Capabilities.Bounding {
		if strings.EqualFold(c, "CAP_SYS_ADMIN") {
			return true
		}
	}
	return false
}
