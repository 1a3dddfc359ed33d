// Command e2ehelper is put into the orch test image next to orch, which is
// built FROM scratch and so has no other program. It does two things:
//
//	e2ehelper sleep             run until SIGTERM or SIGINT (a raw_exec task)
//	e2ehelper allocs            print the ORCH_ALLOC_ID of every live process
//	                            of the container, one a line (the tasks the
//	                            machine really runs)
//	e2ehelper http METHOD URL   send one request, the body read from stdin, and
//	                            print the status code on the first line, then
//	                            the response body (to reach an agent from
//	                            inside its container while the container is
//	                            cut off from every network)
package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: e2ehelper sleep | e2ehelper http METHOD URL")
	}
	switch os.Args[1] {
	case "sleep":
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		<-sigs
	case "allocs":
		printAllocs()
	case "http":
		if len(os.Args) != 4 {
			fail("usage: e2ehelper http METHOD URL")
		}
		doHTTP(os.Args[2], os.Args[3])
	default:
		fail(fmt.Sprintf("e2ehelper: unknown command %q", os.Args[1]))
	}
}

func doHTTP(method, url string) {
	var body io.Reader
	if method != http.MethodGet {
		body = os.Stdin
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		fail(err.Error())
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		fail(err.Error())
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode)
	io.Copy(os.Stdout, resp.Body)
}

// printAllocs reads /proc: zombies and processes gone meanwhile are skipped.
func printAllocs() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		fail(err.Error())
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i < 0 || len(stat) < i+3 || stat[i+2] == 'Z' {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if id, ok := bytes.CutPrefix(kv, []byte("ORCH_ALLOC_ID=")); ok {
				fmt.Printf("%s\n", id)
			}
		}
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}
