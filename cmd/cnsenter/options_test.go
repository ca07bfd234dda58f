package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cnsenter/cnsenter/enter"
)

func TestParseArgs(t *testing.T) {
	inv, err := parseArgs([]string{"-t", "42", "-mu", "--net=/n", "-p=/p", "-S", "follow", "-G5", "-r", "-w=/w",
		"--preserve-credentials", "--keep-caps", "--user-parent", "-eFcZ", "-N", "3", "--", "sh", "-c", "x"})
	if err != nil {
		t.Fatal(err)
	}
	three := 3
	want := enter.Request{
		Namespaces:          map[enter.Kind]string{enter.Mount: "u", enter.Net: "/n", enter.PID: "/p"},
		NetSocket:           &three,
		UserParent:          true,
		UID:                 enter.ID{Set: true, Follow: true},
		GID:                 enter.ID{Set: true, Value: 5},
		PreserveCredentials: true,
		KeepCaps:            true,
		Root:                enter.Dir{Set: true},
		WorkDir:             enter.Dir{Set: true, Path: "/w"},
		Env:                 true,
		NoFork:              true,
		JoinCgroup:          true,
		FollowContext:       true,
		Program:             []string{"sh", "-c", "x"},
	}
	if !reflect.DeepEqual(inv.req, want) || inv.targetRef != "42" {
		t.Errorf("got %+v target %q\nwant %+v", inv.req, inv.targetRef, want)
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-S", "-1"}, {"-G", "x"}, {"-S", "4294967295"}, {"-N", "-3"}, {"-w/a", "-W", "/b"},
		{"--json"}, {"--timeout", "0s"}, {"--list", "--json=1"},
	} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("parseArgs(%q): want an error", args)
		}
	}
}

// FuzzParseArgs: any command line parses or fails with one line, never a
// panic.
func FuzzParseArgs(f *testing.F) {
	f.Add("-t\x0142\x01-a\x01sh")
	f.Add("--net=/x\x01-S\x01follow\x01-w/a\x01-W\x01/b")
	f.Add("--list\x01--json\x01--timeout\x011s")
	f.Fuzz(func(t *testing.T, line string) {
		_, err := parseArgs(strings.Split(line, "\x01"))
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error of several lines: %q", err)
		}
	})
}
