// Command gen writes the man pages from the programs' own --help, so that
// the two cannot say different things: make docs runs it, make check fails
// when the pages in docs/ are not what it would write.
//
//	go run ./docs/gen -bin bin -out docs
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

type page struct {
	name, summary string
	help          []string // the command that prints the help
	seeAlso       string
}

func main() {
	bin := flag.String("bin", "bin", "directory of the built binaries")
	out := flag.String("out", "docs", "where the pages go")
	date := flag.String("date", "", "the date on the pages (default: the newest commit's)")
	flag.Parse()
	if *date == "" {
		d, err := exec.Command("git", "log", "-1", "--format=%cs").Output()
		if err != nil {
			fail(fmt.Errorf("the date of the newest commit: %w", err))
		}
		*date = strings.TrimSpace(string(d))
	}
	pages := []page{
		{"cnsenter", "run a program in the namespaces of a process or a container",
			[]string{filepath.Join(*bin, "cnsenter"), "--help"}, "nsenter(1), docker-nsenter(1), setns(2), namespaces(7)"},
		{"docker-nsenter", "run a program in a Docker container's namespaces, without the exec API",
			[]string{filepath.Join(*bin, "docker-nsenter"), "nsenter", "--help"}, "cnsenter(1), docker(1), nsenter(1)"},
		{"kubectl-nsenter", "run a program in a Kubernetes pod's container, with cnsenter on its node",
			[]string{filepath.Join(*bin, "kubectl-nsenter"), "--help"}, "cnsenter(1), kubectl(1), nsenter(1)"},
	}
	for _, p := range pages {
		help, err := exec.Command(p.help[0], p.help[1:]...).Output()
		if err != nil {
			fail(fmt.Errorf("%s: %w", strings.Join(p.help, " "), err))
		}
		if err := os.WriteFile(filepath.Join(*out, p.name+".1"), []byte(render(p, string(help), *date)), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

// optionLine is an option in a help text: flags, two or more spaces, what
// it does (which cobra may leave out).
var optionLine = regexp.MustCompile(`^\s+(-\S.*?)(?:\s{2,}(\S.*))?$`)

// render turns a help text into a man page: the "Usage:" lines give the
// SYNOPSIS, prose the DESCRIPTION, other headings ("Options:", "Flags:")
// sections of their own whose option lines become tagged paragraphs.
func render(p page, help, date string) string {
	type section struct {
		title string
		lines []string // "" separates paragraphs
	}
	var synopsis []string
	description := &section{title: "DESCRIPTION"}
	sections := []*section{description}
	current := description
	inUsage := false
	for _, line := range strings.Split(strings.TrimRight(help, "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			inUsage = false
			current.lines = append(current.lines, "")
		case !strings.HasPrefix(line, " ") && strings.HasSuffix(trimmed, ":"):
			if trimmed == "Usage:" {
				inUsage, current = true, description
				continue
			}
			current = &section{title: strings.ToUpper(strings.TrimSuffix(trimmed, ":"))}
			sections = append(sections, current)
		case inUsage:
			synopsis = append(synopsis, trimmed)
		default:
			current.lines = append(current.lines, line)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, ".\\\" Generated from %q by docs/gen: edit the help, not this file.\n", strings.Join(append([]string{filepath.Base(p.help[0])}, p.help[1:]...), " "))
	fmt.Fprintf(&b, ".TH %s 1 %q cnsenter \"User Commands\"\n.SH NAME\n%s \\- %s\n.SH SYNOPSIS\n", strings.ToUpper(p.name), date, p.name, escape(p.summary))
	for _, l := range synopsis {
		fmt.Fprintf(&b, "%s\n.br\n", escape(l))
	}
	for _, sec := range sections {
		fmt.Fprintf(&b, ".SH %s\n", sec.title)
		paragraph := false
		for _, line := range sec.lines {
			trimmed := strings.TrimSpace(line)
			switch m := optionLine.FindStringSubmatch(line); {
			case trimmed == "":
				if paragraph {
					b.WriteString(".PP\n")
					paragraph = false
				}
			case m != nil:
				fmt.Fprintf(&b, ".TP\n.B %s\n", escape(m[1]))
				if m[2] != "" {
					fmt.Fprintf(&b, "%s\n", escape(m[2]))
				}
				paragraph = false
			default:
				fmt.Fprintf(&b, "%s\n", escape(trimmed))
				paragraph = true
			}
		}
	}
	fmt.Fprintf(&b, ".SH SEE ALSO\n%s\n", escape(p.seeAlso))
	return b.String()
}

// escape makes text safe for roff: backslashes, hyphens of options, and
// lines that would start with a control character.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
