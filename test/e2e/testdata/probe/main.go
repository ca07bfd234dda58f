// Command probe is an attacker for the end-to-end tests. Run inside a
// container (as its root, or dropping to another uid first), it finds a
// process of a cnsenter session in /proc and tries to reach what that
// process holds: its root and working directory (files of the host?), its
// environment, its descriptors, its memory, and ptrace. It prints one line
// per attempt, "NAME ok DETAIL" or "NAME denied ERROR", and never fails.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	match := flag.String("match", "", "find the process whose command line contains this")
	stopped := flag.Bool("stopped", false, "find a stopped process (state T) instead")
	uid := flag.Int("uid", -1, "become this uid and gid, without capabilities, before probing")
	secret := flag.String("secret", "", "a host file to read through the process's root and cwd")
	write := flag.String("write", "", "a host path to create through the process's root")
	marker := flag.String("marker", "", "a string of the host's environment to look for")
	flag.Parse()
	if *uid >= 0 {
		if err := unix.Setgroups(nil); err != nil {
			fmt.Println("setup denied", err)
		}
		// Setting every uid away from 0 clears every capability.
		if err := unix.Setresgid(*uid, *uid, *uid); err != nil {
			fmt.Println("setup denied", err)
		}
		if err := unix.Setresuid(*uid, *uid, *uid); err != nil {
			fmt.Println("setup denied", err)
		}
	}
	pid := find(*match, *stopped)
	if pid == 0 {
		fmt.Println("pid none")
		return
	}
	fmt.Println("pid", pid)
	dir := "/proc/" + strconv.Itoa(pid)
	if *secret != "" {
		for _, via := range []string{"root", "cwd"} {
			path := dir + "/" + via + *secret
			if via == "cwd" {
				path = dir + "/cwd/" + filepath.Base(*secret)
			}
			if data, err := os.ReadFile(path); err == nil {
				fmt.Printf("%s-read ok %q\n", via, data)
			} else {
				fmt.Printf("%s-read denied %v\n", via, err)
			}
		}
	}
	if *write != "" {
		if err := os.WriteFile(dir+"/root"+*write, []byte("written by the container\n"), 0o644); err == nil {
			fmt.Println("root-write ok")
		} else {
			fmt.Println("root-write denied", err)
		}
	}
	if data, err := os.ReadFile(dir + "/environ"); err == nil {
		fmt.Printf("environ ok marker=%v\n", *marker != "" && bytes.Contains(data, []byte(*marker)))
	} else {
		fmt.Println("environ denied", err)
	}
	if link, err := os.Readlink(dir + "/cwd"); err == nil {
		fmt.Println("cwd ok", link)
	} else {
		fmt.Println("cwd denied", err)
	}
	for _, name := range []string{"mem", "exe"} {
		if f, err := os.Open(dir + "/" + name); err == nil {
			f.Close()
			fmt.Println(name, "ok")
		} else {
			fmt.Println(name, "denied", err)
		}
	}
	if entries, err := os.ReadDir(dir + "/map_files"); err == nil {
		fmt.Println("map_files ok", len(entries))
	} else {
		fmt.Println("map_files denied", err)
	}
	if entries, err := os.ReadDir(dir + "/fd"); err != nil {
		fmt.Println("fds denied", err)
	} else {
		for _, e := range entries {
			path := dir + "/fd/" + e.Name()
			link, _ := os.Readlink(path)
			if f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
				f.Close()
				fmt.Printf("fd/%s ok %s\n", e.Name(), link)
			} else {
				fmt.Printf("fd/%s denied %v (%s)\n", e.Name(), err, link)
			}
		}
	}
	if err := unix.PtraceSeize(pid); err == nil {
		unix.PtraceDetach(pid)
		fmt.Println("ptrace ok")
	} else {
		fmt.Println("ptrace denied", err)
	}
}

// find waits up to 10 s for the process.
func find(match string, stopped bool) int {
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			if stopped {
				stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
				if i := bytes.LastIndexByte(stat, ')'); i > 0 && strings.HasPrefix(string(stat[i+1:]), " T") {
					return pid
				}
				continue
			}
			cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if match != "" && strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), match) {
				return pid
			}
		}
	}
	return 0
}
