package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cnsenter/cnsenter/runtime"
	"github.com/cnsenter/cnsenter/runtime/docker"
)

// FromStopped fills in what is read of a container that runs no process
// (Process nil): its layers and mounts, from its engine's state on disk
// (the adapter's runtime.Filesystem), whether its daemon answers or not.
func (o *Options) FromStopped(ctx context.Context, a runtime.Adapter) {
	fs, ok := a.(runtime.Filesystem)
	if !ok {
		o.FilesErr = fmt.Errorf("%s:// cannot read the files of a container that does not run", a.Name())
		return
	}
	files, err := fs.ContainerFiles(ctx, o.Container)
	if err != nil {
		o.FilesErr = err
		return
	}
	o.Files = &files
}

// FromDocker fills in Docker's own records of the container and its
// image: its inspect, the image's reference, ID and registry digests, and
// its overlay2 directories (GraphDriver.Data, dockerd's graph drivers
// only), which the writable layer is taken from when the container's own
// mount table cannot be trusted or names them relatively.
func (o *Options) FromDocker(ctx context.Context, d *docker.Adapter) {
	raw, err := d.InspectJSON(ctx, o.Container.ID)
	if err != nil {
		o.EngineErr = err
		if k := runtime.KindOf(err); k == runtime.Unreachable || k == runtime.Timeout {
			o.fromDockerDisk(d, err)
		}
		return
	}
	o.Engine = raw
	var rec struct {
		Image       string
		Config      struct{ Image string }
		GraphDriver struct{ Data map[string]string }
		State       struct{ ExitCode int }
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		o.EngineErr = err
		return
	}
	o.Image.Reference, o.Image.ID = rec.Config.Image, rec.Image
	o.exitCode(rec.State.ExitCode)
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

// fromDockerDisk is FromDocker when dockerd does not answer (cause): its
// own record of the container in its state on disk, config.v2.json, kept
// as engine/config.v2.json, and the image and exit status it names.
func (o *Options) fromDockerDisk(d *docker.Adapter, cause error) {
	root := docker.DataRoot(d.Endpoint())
	raw, err := docker.StateJSON(root, o.Container.ID)
	if err != nil {
		o.EngineErr = fmt.Errorf("%w; and its state on disk: %w", cause, err)
		return
	}
	o.EngineDisk = raw
	o.EngineErr = fmt.Errorf("%w: its record in dockerd's state on disk is kept instead (engine/config.v2.json)", cause)
	var rec struct {
		Image  string
		Config struct{ Image string }
		State  struct{ ExitCode int }
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		o.EngineErr = errors.Join(cause, err)
		return
	}
	o.Image.Reference, o.Image.ID = rec.Config.Image, rec.Image
	o.Image.Note = "from dockerd's state on disk (" + root + "): dockerd did not answer, its registry digests are not read"
	o.exitCode(rec.State.ExitCode)
}

// exitCode records a container's exit status: only one that ran and
// stopped has one (a created container's 0 is no status).
func (o *Options) exitCode(code int) {
	switch o.Container.Status {
	case "exited", "dead", "stopped":
		if o.Process == nil {
			o.ExitCode = &code
		}
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
