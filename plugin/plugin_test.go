package plugin

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args []string
		want Invocation
	}{
		{[]string{"nsenter", "web", "sh"}, Invocation{Args: []string{"web", "sh"}}},
		{[]string{"-H", "unix:///x.sock", "nsenter", "web"}, Invocation{Global: Global{Host: "unix:///x.sock"}, Args: []string{"web"}}},
		{[]string{"--context=ctx", "-D", "--config", "/cfg", "nsenter", "-u", "1", "web"}, Invocation{Global: Global{Context: "ctx", Config: "/cfg"}, Args: []string{"-u", "1", "web"}}},
		{[]string{"-l", "debug", "--tlsverify", "nsenter", "--help"}, Invocation{Args: []string{"--help"}}},
		{[]string{"help", "nsenter"}, Invocation{Help: true}},
		{[]string{"__complete", "nsenter", "-u", ""}, Invocation{Complete: true, Args: []string{"-u", ""}}},
	} {
		got, err := Parse("nsenter", c.args)
		if err != nil || got.Global != c.want.Global || got.Help != c.want.Help || got.Complete != c.want.Complete || !slices.Equal(got.Args, c.want.Args) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.args, got, err, c.want)
		}
	}
	for _, args := range [][]string{{"web"}, {"-H"}, {}} {
		if _, err := Parse("nsenter", args); err == nil {
			t.Errorf("Parse(%q): want an error", args)
		}
	}
}

func TestMetadata(t *testing.T) {
	var m Metadata
	if err := json.Unmarshal(MetadataJSON("1.0", "x"), &m); err != nil || m.SchemaVersion != "0.1.0" || m.Vendor == "" {
		t.Errorf("metadata: %+v %v", m, err)
	}
}
