package cri

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cnsenter/cnsenter/internal/grpc"
)

// The messages of the Kubernetes CRI API (k8s.io/cri-api,
// pkg/apis/runtime/v1/api.proto, package runtime.v1) that cnsenter sends
// and reads, written and read field by field with the numbers of that
// file: four calls of RuntimeService, none of ImageService. Fields we do
// not use are skipped.

// The calls cnsenter makes. containerd's CRI plugin needs no namespace
// header: it keeps its containers in its own "k8s.io".
const (
	service           = "/runtime.v1.RuntimeService/"
	methodVersion     = service + "Version"
	methodSandboxes   = service + "ListPodSandbox"
	methodContainers  = service + "ListContainers"
	methodStatus      = service + "ContainerStatus"
	apiVersion        = "v1" // VersionRequest.version: the API the client speaks
	sandboxReady      = 0    // PodSandboxState SANDBOX_READY
	containerRunning  = 1    // ContainerState CONTAINER_RUNNING
	noStateFilter     = -1
	maxContainerState = 3
)

// containerStates are the names of ContainerState, as Container.Status.
var containerStates = [...]string{"created", "running", "exited", "unknown"}

func stateName(s int) string {
	if s >= 0 && s <= maxContainerState {
		return containerStates[s]
	}
	return "unknown"
}

// version is a VersionResponse.
type version struct {
	runtimeName    string // 2: "containerd", "cri-o"
	runtimeVersion string // 3
	apiVersion     string // 4: "v1"
}

func encodeVersion() []byte { return grpc.AppendString(nil, 1, apiVersion) }

func decodeVersion(m []byte) (version, error) {
	var v version
	err := grpc.Fields(m, func(f int, _ uint64, b []byte) {
		switch f {
		case 2:
			v.runtimeName = string(b)
		case 3:
			v.runtimeVersion = string(b)
		case 4:
			v.apiVersion = string(b)
		}
	})
	return v, err
}

// encodeListPodSandbox is a ListPodSandboxRequest for the ready sandboxes:
// filter (1) PodSandboxFilter, its state (2) a PodSandboxStateValue whose
// state (1) is SANDBOX_READY. That is 0, which proto3 encoders leave out:
// the presence of the PodSandboxStateValue is the filter; we write the 0,
// which every reader takes the same.
func encodeListPodSandbox() []byte {
	state := grpc.AppendVarint(nil, 1, sandboxReady)
	return grpc.AppendBytes(nil, 1, grpc.AppendBytes(nil, 2, state))
}

// sandbox is a PodSandbox: a pod, as the kubelet made it.
type sandbox struct {
	id        string // 1
	name      string // 2 PodSandboxMetadata: name (1)
	uid       string // uid (2)
	namespace string // namespace (3)
	ready     bool   // 3 state: SANDBOX_READY
	labels    map[string]string
}

func decodeSandboxes(m []byte) ([]sandbox, error) {
	items, err := grpc.Repeated(m, 1)
	if err != nil {
		return nil, err
	}
	list := make([]sandbox, 0, len(items))
	for _, item := range items {
		s := sandbox{ready: true} // state 0, absent, is READY
		var meta []byte
		var labels [][]byte
		err := grpc.Fields(item, func(f int, v uint64, b []byte) {
			switch f {
			case 1:
				s.id = string(b)
			case 2:
				meta = b
			case 3:
				s.ready = v == sandboxReady
			case 5:
				labels = append(labels, b)
			}
		})
		if err == nil {
			err = grpc.Fields(meta, func(f int, _ uint64, b []byte) {
				switch f {
				case 1:
					s.name = string(b)
				case 2:
					s.uid = string(b)
				case 3:
					s.namespace = string(b)
				}
			})
		}
		if err == nil {
			s.labels, err = decodeMap(labels)
		}
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}

// encodeListContainers is a ListContainersRequest: filter (1)
// ContainerFilter with, when given, the sandbox's ID (3) and the state (2,
// a ContainerStateValue). state < 0 asks for every state.
func encodeListContainers(sandboxID string, state int) []byte {
	var filter []byte
	if state >= 0 {
		filter = grpc.AppendBytes(filter, 2, grpc.AppendVarint(nil, 1, uint64(state)))
	}
	if sandboxID != "" {
		filter = grpc.AppendString(filter, 3, sandboxID)
	}
	return grpc.AppendBytes(nil, 1, filter)
}

// ctr is a Container of ListContainers.
type ctr struct {
	id        string // 1
	sandboxID string // 2
	name      string // 3 ContainerMetadata: name (1)
	attempt   uint64 // attempt (2)
	image     string // 4 ImageSpec: image (1)
	state     int    // 6 ContainerState
	labels    map[string]string
}

func decodeContainers(m []byte) ([]ctr, error) {
	items, err := grpc.Repeated(m, 1)
	if err != nil {
		return nil, err
	}
	list := make([]ctr, 0, len(items))
	for _, item := range items {
		var c ctr
		var meta, image []byte
		var labels [][]byte
		err := grpc.Fields(item, func(f int, v uint64, b []byte) {
			switch f {
			case 1:
				c.id = string(b)
			case 2:
				c.sandboxID = string(b)
			case 3:
				meta = b
			case 4:
				image = b
			case 6:
				c.state = int(min(v, maxContainerState))
			case 8:
				labels = append(labels, b)
			}
		})
		if err == nil {
			err = grpc.Fields(meta, func(f int, v uint64, b []byte) {
				switch f {
				case 1:
					c.name = string(b)
				case 2:
					c.attempt = v
				}
			})
		}
		if err == nil {
			var img []byte
			img, err = grpc.Embedded(image, 1)
			c.image = string(img)
		}
		if err == nil {
			c.labels, err = decodeMap(labels)
		}
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	return list, nil
}

// encodeContainerStatus is a ContainerStatusRequest: container_id (1),
// verbose (2), for the info map that holds the PID.
func encodeContainerStatus(id string) []byte {
	return grpc.AppendVarint(grpc.AppendString(nil, 1, id), 2, 1)
}

// status is what cnsenter reads of a ContainerStatusResponse.
type status struct {
	id    string // status (1) ContainerStatus: id (1)
	state int    // state (3)
	image string // image (8) ImageSpec: image (1)
	// pid is the container's init, from the verbose info (2), a map
	// whose "info" entry is JSON with "pid": so containerd's CRI plugin
	// and CRI-O both write it. 0 when absent.
	pid int
	// spec is the container's OCI spec, from the same info.
	spec []byte
}

// errNoInfo is a ContainerStatusResponse without the verbose "info" entry.
var errNoInfo = errors.New(`the container status has no verbose "info" with its PID`)

func decodeStatus(m []byte) (status, error) {
	var st status
	var s []byte
	var info [][]byte
	err := grpc.Fields(m, func(f int, _ uint64, b []byte) {
		switch f {
		case 1:
			s = b
		case 2:
			info = append(info, b)
		}
	})
	if err != nil {
		return st, err
	}
	var image []byte
	err = grpc.Fields(s, func(f int, v uint64, b []byte) {
		switch f {
		case 1:
			st.id = string(b)
		case 3:
			st.state = int(min(v, maxContainerState))
		case 8:
			image = b
		}
	})
	if err != nil {
		return st, err
	}
	img, err := grpc.Embedded(image, 1)
	if err != nil {
		return st, err
	}
	st.image = string(img)
	entries, err := decodeMap(info)
	if err != nil {
		return st, err
	}
	raw, ok := entries["info"]
	if !ok {
		return st, errNoInfo
	}
	// "pid", and the runtime spec, which both containerd and CRI-O give
	// there; the rest (sandbox ID, ...) is skipped by the decoder.
	var v struct {
		PID  *int            `json:"pid"`
		Spec json.RawMessage `json:"runtimeSpec"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return st, fmt.Errorf("the container status's verbose info: %w", err)
	}
	if v.PID == nil {
		return st, errNoInfo
	}
	if *v.PID < 0 {
		return st, fmt.Errorf("the container status gives PID %d", *v.PID)
	}
	st.pid = *v.PID
	if len(v.Spec) > 0 && string(v.Spec) != "null" {
		st.spec = v.Spec
	}
	return st, nil
}

// decodeMap reads the entries of a map<string, string> field: each a
// message of key (1) and value (2).
func decodeMap(entries [][]byte) (map[string]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		var k, v string
		if err := grpc.Fields(e, func(f int, _ uint64, b []byte) {
			switch f {
			case 1:
				k = string(b)
			case 2:
				v = string(b)
			}
		}); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}
