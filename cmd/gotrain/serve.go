package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gotrain/gotrain/cmd/gotrain/internal/serve"
)

// serveDefaults are the folders train, sweep and tune write to by default.
var serveDefaults = []string{"runs", "sweeps", "studies"}

// serveReady, when set (by tests), receives the URL once the server listens.
var serveReady func(url string)

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // every message is printed once, by run; -h prints the usage below
	addr := fs.String("addr", "127.0.0.1", "address to listen on (HOST or HOST:PORT); anything but loopback lets other machines read every run below the folders")
	port := fs.Int("port", 7007, "port to listen on (0: any free port)")
	poll := fs.Duration("poll", 500*time.Millisecond, "how often the folders are looked at again while a page is open")
	fs.Usage = func() {}
	printUsage := func() {
		fs.SetOutput(stderr)
		fmt.Fprintf(fs.Output(), "Usage: gotrain serve [flags] [DIR...]\n\nServes a web page that lists and compares the runs, sweeps and studies below the folders\n(default: %s of the current folder), live while they train. It only reads those folders.\n\nFlags:\n", strings.Join(serveDefaults, "/, ")+"/")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage()
			return err
		}
		return usagef("%v", err)
	}
	usage := usagef
	if *port < 0 || *port > 65535 {
		return usage("-port %d: want 0 to 65535", *port)
	}
	if *poll < 50*time.Millisecond {
		return usage("-poll %v: want at least 50ms", *poll)
	}
	host, hostPort := *addr, strconv.Itoa(*port)
	if h, p, err := net.SplitHostPort(*addr); err == nil {
		portSet := false
		fs.Visit(func(f *flag.Flag) { portSet = portSet || f.Name == "port" })
		if portSet {
			return usage("-addr %s names a port and -port %d another: give one", *addr, *port)
		}
		host, hostPort = h, p
	}
	dirs, required := fs.Args(), true
	if len(dirs) == 0 {
		dirs, required = serveDefaults, false
	}
	for _, d := range dirs {
		if required {
			if st, err := os.Stat(d); err != nil {
				return fmt.Errorf("%s: %w", d, err)
			} else if !st.IsDir() {
				return fmt.Errorf("%s is not a folder", d)
			}
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, hostPort))
	if err != nil {
		return fmt.Errorf("-addr %s -port %s: %w", host, hostPort, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	loopback := tcp.IP.IsLoopback()
	cfg := serve.Config{Dirs: dirs, Required: required, Poll: *poll}
	if loopback {
		// Only names of this machine: a page elsewhere cannot rebind its own name to us.
		cfg.Hosts = []string{"localhost", ln.Addr().String()}
	}
	srv, err := serve.New(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	url := "http://" + ln.Addr().String() + "/"
	if !loopback {
		fmt.Fprintf(stderr, "warning: listening on %s, reachable from other machines: anyone who reaches it can read every run, sweep and study below %s\n",
			net.JoinHostPort(host, strconv.Itoa(tcp.Port)), strings.Join(dirs, ", "))
		if tcp.IP.IsUnspecified() {
			url = "http://127.0.0.1:" + strconv.Itoa(tcp.Port) + "/ (and this machine's other addresses)"
		}
	}
	var missing []string
	if !required {
		for _, d := range dirs {
			if _, err := os.Stat(d); err != nil {
				missing = append(missing, d+"/")
			}
		}
	}
	fmt.Fprintf(stdout, "gotrain serve: %s  (folders: %s; Ctrl-C stops)\n", url, strings.Join(dirs, ", "))
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "  not here yet (watched, listed once they appear): %s\n", strings.Join(missing, ", "))
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	if serveReady != nil {
		serveReady("http://" + ln.Addr().String() + "/")
	}
	select {
	case err := <-done:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	srv.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "gotrain serve: stopped")
	return nil
}
