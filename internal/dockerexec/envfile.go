package dockerexec

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// maxEnvFile bounds what is read of an --env-file (the docker CLI reads it
// whole; this is the caller's own file, but a mistaken one may be huge).
const maxEnvFile = 16 << 20

// readEnvFiles reads --env-file files as the docker CLI does
// (opts.ParseEnvFile), on the host, in order: each line KEY=VALUE, or KEY
// (taken from our environment when set there, else dropped); leading
// whitespace, blank lines and lines starting with # are skipped; a
// variable name holding whitespace, a line with no name, or bytes that are
// not UTF-8 are errors naming the file and line.
func readEnvFiles(paths []string) ([]string, error) {
	var env []string
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		data, err := readLimited(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--env-file %s: %w", path, err)
		}
		lines, err := parseEnvFile(data, path)
		if err != nil {
			return nil, err
		}
		env = append(env, lines...)
	}
	return env, nil
}

func readLimited(f *os.File) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxEnvFile {
		return nil, fmt.Errorf("larger than %d MiB", maxEnvFile>>20)
	}
	return data, nil
}

func parseEnvFile(data []byte, path string) ([]string, error) {
	var env []string
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(make([]byte, 64<<10), maxEnvFile)
	for n := 1; s.Scan(); n++ {
		raw := s.Bytes()
		if n == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
		}
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("--env-file %s: line %d is not UTF-8", path, n)
		}
		line := strings.TrimLeft(string(raw), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		key, value, hasValue := strings.Cut(line, "=")
		if key == "" {
			return nil, fmt.Errorf("--env-file %s: line %d has no variable name: write KEY=VALUE", path, n)
		}
		if strings.ContainsAny(key, " \t\r\v\f") {
			return nil, fmt.Errorf("--env-file %s: line %d: variable %q contains whitespace", path, n, key)
		}
		if hasValue {
			env = append(env, key+"="+value)
		} else if v, ok := os.LookupEnv(key); ok {
			env = append(env, key+"="+v)
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", path, err)
	}
	return env, nil
}
