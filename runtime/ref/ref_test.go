package ref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Ref{
		"42":                     {Kind: PID, PID: 42},
		"007":                    {Kind: PID, PID: 7},
		"docker://web":           {Kind: Docker, Name: "web"},
		"docker:///web":          {Kind: Docker, Name: "web"},
		"docker://3f2a":          {Kind: Docker, Name: "3f2a"},
		"containerd://k8s.io/c1": {Kind: Containerd, Namespace: "k8s.io", Name: "c1"},
		"containerd://c1":        {Kind: Containerd, Namespace: "dflt", Name: "c1"},
		"web-1":                  {Kind: Bare, Name: "web-1"},
		"podman://web":           {Kind: Podman, Name: "web"},
		"podman://31ad":          {Kind: Podman, Name: "31ad"},
	} {
		got, err := Parse(in, "dflt")
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "empty target",
		"0":                    "0 is not a valid PID",
		"99999999999999999999": "is not a valid PID",
		"docker://":            "give a container name or ID after docker://",
		"containerd://":        "give containerd://NAMESPACE/ID",
		"containerd://a/b/c":   "give containerd://NAMESPACE/ID",
		"containerd:///x":      "give containerd://NAMESPACE/ID",
		"foo://x":              `unknown scheme "foo://"`,
		"podman://":            "give a container name or ID after podman://",
		"podman://a/b":         `'/' cannot be in a container name`,
		"a b":                  `' ' cannot be in a container name`,
		"docker://a/b":         `'/' cannot be in a container name`,
	} {
		_, err := Parse(in, "default")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to say %q", in, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"42", "docker://web", "containerd://ns/id", "containerd://id", "web", "", "x://", "docker://a/b", "containerd://a/b/c", "podman://web"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s, "default")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse(%q): error has several lines: %q", s, err)
			}
			return
		}
		again, err := Parse(r.String(), "default")
		if err != nil || again != r {
			t.Errorf("Parse(%q) = %+v, but its String %q parses to %+v, %v", s, r, r.String(), again, err)
		}
	})
}

// TestCheckName: what the engines accept as names, IDs and ID prefixes
// passes; a path in their API (.., a /) or anything else is refused, in one
// line.
func TestCheckName(t *testing.T) {
	for _, ok := range []string{"web", "/web", "3f2a", "my_app.1-2", strings.Repeat("a", 255)} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/", "..", ".", "../x", "a/b", "a/../b", ".hidden", "-x", "_x", "a b", "a\nb", "a%2Fb", "a?b", "a#b", "/..", "//web", strings.Repeat("a", 256)} {
		err := CheckName(bad)
		if err == nil || !strings.Contains(err.Error(), "is not a container reference") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want one line saying it is not a container reference, got %v", bad, err)
		}
	}
}
