// Package plugin speaks the Docker CLI's plugin protocol, which is small
// enough to implement rather than import the CLI (its plugin package alone
// would add some 14 MiB and hundreds of packages).
//
// The CLI finds docker-NAME in its plugin directories, asks it for metadata
// with the single argument "docker-cli-plugin-metadata", and on use runs it
// with the CLI's whole argument list: its global flags, then NAME, then the
// plugin's own arguments.
package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// MetadataCommand is how the CLI asks for Metadata.
const MetadataCommand = "docker-cli-plugin-metadata"

// Metadata is what the CLI reads; docker CLI 28 accepts SchemaVersion
// "0.1.0" only.
type Metadata struct {
	SchemaVersion    string
	Vendor           string
	Version          string
	ShortDescription string
	URL              string `json:",omitempty"`
}

// MetadataJSON is the answer to MetadataCommand.
func MetadataJSON(version, description string) []byte {
	data, _ := json.Marshal(Metadata{SchemaVersion: "0.1.0", Vendor: "cnsenter", Version: version, ShortDescription: description})
	return data
}

// Global holds the CLI's global flags that matter here: they choose the
// endpoint, in the CLI's own order (see runtime/docker.Endpoint).
type Global struct {
	Host    string // -H, --host
	Context string // -c, --context
	Config  string // --config
}

// Invocation is one run of the plugin.
type Invocation struct {
	Global   Global
	Help     bool     // "docker help NAME"
	Complete bool     // "__complete NAME ...": the CLI asks for shell completions
	Args     []string // the plugin's own arguments
}

// CompleteCommand is how the CLI asks a plugin for completions, with cobra's
// protocol: "docker-NAME __complete NAME ARGS..." prints candidates, then a
// directive line.
const CompleteCommand = "__complete"

// globalWithValue are the CLI's global flags that take a value.
var globalWithValue = map[string]bool{
	"-H": true, "--host": true, "-c": true, "--context": true, "--config": true,
	"-l": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true,
}

// Parse splits the CLI's argument list at the plugin's name.
func Parse(name string, args []string) (Invocation, error) {
	var inv Invocation
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == name {
			inv.Args = args[i+1:]
			return inv, nil
		}
		if a == "help" && i+1 < len(args) && args[i+1] == name {
			inv.Help = true
			return inv, nil
		}
		if a == CompleteCommand && i+1 < len(args) && args[i+1] == name {
			inv.Complete, inv.Args = true, args[i+2:]
			return inv, nil
		}
		flag, value, hasValue := strings.Cut(a, "=")
		if !strings.HasPrefix(a, "-") {
			return inv, fmt.Errorf("unexpected %q before %q: run this as 'docker %s'", a, name, name)
		}
		if globalWithValue[flag] && !hasValue {
			if i+1 >= len(args) {
				return inv, fmt.Errorf("flag %s needs a value", flag)
			}
			i++
			value = args[i]
		}
		switch flag {
		case "-H", "--host":
			inv.Global.Host = value
		case "-c", "--context":
			inv.Global.Context = value
		case "--config":
			inv.Global.Config = value
		}
	}
	return inv, errors.New("run this as 'docker " + name + "' (a Docker CLI plugin)")
}

// CancelSocket connects to the socket the docker CLI names in
// DOCKER_CLI_PLUGIN_SOCKET, which it closes when the user cancels: the
// connection then reads end-of-file. It returns nil without that variable
// (the plugin run by hand) or when the CLI cannot be reached.
func CancelSocket() *os.File {
	socket := os.Getenv("DOCKER_CLI_PLUGIN_SOCKET")
	if socket == "" {
		return nil
	}
	// An abstract socket, named with its "@" (as the docker CLI 28 sets
	// it); a name without one is taken as abstract too.
	if !strings.HasPrefix(socket, "@") {
		socket = "@" + socket
	}
	// Plain system calls: the net package would start its poller, which
	// costs more than the rest of this.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
		unix.Close(fd)
		return nil
	}
	return os.NewFile(uintptr(fd), socket)
}

// WatchCancel calls cancel when the CLI says the user cancelled (see
// CancelSocket).
func WatchCancel(cancel func()) {
	f := CancelSocket()
	if f == nil {
		return
	}
	go func() {
		defer f.Close()
		buf := make([]byte, 64)
		for {
			if _, err := f.Read(buf); err != nil {
				cancel()
				return
			}
		}
	}()
}
