package getopt

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The option table of nsenter, as the differential test's C program has it.
var testOptions = []Option{
	{Short: 'a', Long: "all"},
	{Short: 't', Long: "target", Arg: RequiredArg},
	{Short: 'm', Long: "mount", Arg: OptionalArg},
	{Short: 'u', Long: "uts", Arg: OptionalArg},
	{Short: 'U', Long: "user", Arg: OptionalArg},
	{Long: "user-parent"},
	{Short: 'S', Long: "setuid", Arg: RequiredArg},
	{Short: 'F', Long: "no-fork"},
	{Long: "list", Extension: true},
	{Long: "timeout", Arg: RequiredArg, Extension: true},
}

// render prints a parse result the way the C program below prints its own.
func render(args []string) string {
	parsed, operands, err := Parse(args, testOptions)
	if err != nil {
		return "error\n"
	}
	var b strings.Builder
	for _, p := range parsed {
		name := p.Option.Long
		if p.HasValue {
			fmt.Fprintf(&b, "%s=%s\n", name, p.Value)
		} else {
			fmt.Fprintf(&b, "%s\n", name)
		}
	}
	for _, o := range operands {
		fmt.Fprintf(&b, "operand %s\n", o)
	}
	return b.String()
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-a", "-t", "42", "sh"}, "all\ntarget=42\noperand sh\n"},
		{[]string{"-t42", "-mu"}, "target=42\nmount=u\n"},
		{[]string{"-m", "/x"}, "mount\noperand /x\n"},
		{[]string{"--targ", "7", "--mount=/m", "--", "-a"}, "target=7\nmount=/m\noperand -a\n"},
		{[]string{"-S", "-1"}, "setuid=-1\n"},
		{[]string{"--user"}, "user\n"},
		{[]string{"--user-"}, "user-parent\n"},
		{[]string{"--li"}, "list\n"},
		{[]string{"--t", "5"}, "target=5\n"}, // --timeout is an extension: --t stays --target
		{[]string{"sh", "-a"}, "operand sh\noperand -a\n"},
		{[]string{"-", "x"}, "operand -\noperand x\n"},
	} {
		if got := render(c.args); got != c.want {
			t.Errorf("Parse(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-x"}, "invalid option -- 'x'"},
		{[]string{"-t"}, "option requires an argument -- 't'"},
		{[]string{"--target"}, "option '--target' requires an argument"},
		{[]string{"--all=1"}, "option '--all' doesn't allow an argument"},
		{[]string{"--u"}, "option '--u' is ambiguous; possibilities: '--uts' '--user' '--user-parent'"},
		{[]string{"--nope=1"}, "unrecognized option '--nope=1'"},
	} {
		_, _, err := Parse(c.args, testOptions)
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%q) error = %v, want %q", c.args, err, c.want)
		}
	}
}

// glibcProgram parses argument vectors with glibc's getopt_long and the
// table of testOptions: one vector a line on stdin, words separated by \x01,
// one block of output a vector, each ending with "end". (Extensions are
// plain options to glibc, so the comparison keeps to words where that makes
// no difference.)
const glibcProgram = `
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
	static const struct option o[] = {
		{"all", no_argument, 0, 'a'}, {"target", required_argument, 0, 't'},
		{"mount", optional_argument, 0, 'm'}, {"uts", optional_argument, 0, 'u'},
		{"user", optional_argument, 0, 'U'}, {"user-parent", no_argument, 0, 1},
		{"setuid", required_argument, 0, 'S'}, {"no-fork", no_argument, 0, 'F'},
		{0, 0, 0, 0}};
	const char *names[128] = {0};
	names['a'] = "all"; names['t'] = "target"; names['m'] = "mount"; names['u'] = "uts";
	names['U'] = "user"; names[1] = "user-parent"; names['S'] = "setuid"; names['F'] = "no-fork";
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	opterr = 0;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		char *argv[64] = {"ref"}, *w, *save = NULL, *out = NULL;
		int argc = 1, c, failed = 0;
		size_t outlen = 0;
		line[n - 1] = 0;
		for (w = strtok_r(line, "\x01", &save); w && argc < 63; w = strtok_r(NULL, "\x01", &save))
			argv[argc++] = strcmp(w, "\x02") ? w : "";
		argv[argc] = NULL;
		FILE *f = open_memstream(&out, &outlen);
		optind = 0;
		while ((c = getopt_long(argc, argv, "+at:m::u::U::S:F", o, 0)) != -1) {
			if (c == '?' || c == ':') { failed = 1; break; }
			if (optarg) fprintf(f, "%s=%s\n", names[c], optarg); else fprintf(f, "%s\n", names[c]);
		}
		for (; !failed && optind < argc; optind++) fprintf(f, "operand %s\n", argv[optind]);
		fclose(f);
		printf("%send\n", failed ? "error\n" : out);
		fflush(stdout);
		free(out);
	}
	return 0;
}
`

// glibcParser builds the reference program and returns a function that
// asks it to parse a vector.
func glibcParser(t testing.TB) func([]string) string {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler to build the glibc reference parser")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "ref.c")
	if err := os.WriteFile(src, []byte(glibcProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ref")
	if out, err := exec.Command(cc, "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("building the reference parser: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	out := bufio.NewReader(outPipe)
	return func(args []string) string {
		words := make([]string, len(args))
		for i, a := range args {
			words[i] = a
			if a == "" {
				words[i] = "\x02" // strtok cannot return an empty word
			}
		}
		fmt.Fprintf(in, "%s\n", strings.Join(words, "\x01"))
		var b strings.Builder
		for {
			l, err := out.ReadString('\n')
			if err != nil {
				t.Fatalf("reference parser: %v", err)
			}
			if l == "end\n" {
				return b.String()
			}
			b.WriteString(l)
		}
	}
}

func compareWithGlibc(t testing.TB, glibc func([]string) string, args []string) {
	if len(args) > 60 {
		return
	}
	for _, a := range args {
		// Words that only an extension could match are where we differ on
		// purpose; NUL and newlines cannot pass through the line protocol.
		if strings.HasPrefix(a, "--l") || strings.HasPrefix(a, "--ti") || strings.ContainsAny(a, "\x00\x01\x02\n") {
			return
		}
	}
	if got, want := render(args), glibc(args); got != want {
		t.Errorf("Parse(%q) = %q, glibc says %q", args, got, want)
	}
}

func TestAgainstGlibc(t *testing.T) {
	glibc := glibcParser(t)
	words := []string{"-a", "-t", "-t1", "-m", "-mu", "-m=x", "-u", "-U", "-S", "-F", "-aF", "-Fa", "-at",
		"--all", "--a", "--target", "--targ=3", "--mount", "--mount=", "--mo=/x", "--u", "--us", "--user",
		"--user-", "--user-parent", "--setuid", "--no", "--", "-", "x", "-x", "--x", "-aU/u", "--all=2", "-1"}
	// Every sequence of up to three words.
	var seq func(prefix []string, n int)
	seq = func(prefix []string, n int) {
		compareWithGlibc(t, glibc, prefix)
		if n == 0 {
			return
		}
		for _, w := range words {
			seq(append(append([]string{}, prefix...), w), n-1)
		}
	}
	seq(nil, 3)
}

func FuzzAgainstGlibc(f *testing.F) {
	glibc := glibcParser(f)
	f.Add("-a\x01-t\x0142\x01sh")
	f.Add("--mount=/x\x01-mu\x01--\x01-a")
	f.Fuzz(func(t *testing.T, line string) {
		compareWithGlibc(t, glibc, strings.Split(line, "\x01"))
	})
}
