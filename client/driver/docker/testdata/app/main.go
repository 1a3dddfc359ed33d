// Command app is the program of the docker driver tests' image (FROM
// scratch): it prints, serves HTTP, sleeps or exits as its arguments say.
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
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: app echo|serve|wait|exit ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "echo": // echo OUT ERR: print to stdout and stderr, then exit 0
		fmt.Println(os.Args[2])
		fmt.Fprintln(os.Stderr, os.Args[3])
	case "exit": // exit N
		n, _ := strconv.Atoi(os.Args[2])
		os.Exit(n)
	case "upper": // upper: copy stdin to stdout in capitals, then exit 3
		b, _ := io.ReadAll(os.Stdin)
		os.Stdout.Write(bytes.ToUpper(b))
		os.Exit(3)
	case "env": // env NAME: print the variable
		fmt.Println(os.Getenv(os.Args[2]))
	case "serve": // serve PORT: answer "hello from orch" until SIGTERM
		http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello from orch") })
		go func() {
			if err := http.ListenAndServe(":"+os.Args[2], nil); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}()
		fmt.Println("serving")
		waitSignal(syscall.SIGTERM)
	case "wait": // wait: run until SIGTERM; ignore SIGINT (so a SIGINT stop must escalate)
		signal.Ignore(syscall.SIGINT)
		fmt.Println("waiting")
		waitSignal(syscall.SIGTERM)
	}
}

func waitSignal(sig os.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	<-ch
	fmt.Println("got", sig)
}
