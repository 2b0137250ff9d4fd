// Command fakefn stands in for a carrot function in the serving tests. It
// serves $PORT of $CARROT_LISTEN_HOST the way infra/web does:
// /health/readiness answers 503 once SIGTERM starts the drain of
// $DRAIN_SECONDS, /health/liveness answers 200 until /sick is called. Its
// other endpoints let tests observe it without relying on timing:
//
//	/work?ms=N  sleeps N ms (or until the caller leaves) and counts itself in flight
//	/hold       counts itself in flight and waits until /release is called
//	/release    lets every current and future /hold and /stream finish
//	/stream     writes "first", flushes, waits for /release, writes "second"
//	/sick       makes liveness fail from now on
//	/unready    makes readiness fail until /ready is called
//	/pid        answers the process id
//	/env?name=K answers the value of $K
//	/stats      answers {"inFlight", "maxInFlight", "served"} of /work and /hold
//
// With $FAKEFN_EXIT set it exits at once with status 3, as a function
// that cannot start; with $FAKEFN_NEVER_READY set its readiness always
// fails.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	inFlight, maxInFlight, served atomic.Int64
	sick, unready, draining       atomic.Bool
	released                      = make(chan struct{})
	releaseOnce                   sync.Once
)

func main() {
	if os.Getenv("FAKEFN_EXIT") != "" {
		fmt.Fprintln(os.Stderr, "fakefn: exiting as $FAKEFN_EXIT asks")
		os.Exit(3)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health/readiness", func(w http.ResponseWriter, _ *http.Request) {
		if draining.Load() || unready.Load() || os.Getenv("FAKEFN_NEVER_READY") != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/health/liveness", func(w http.ResponseWriter, _ *http.Request) {
		if sick.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		defer track()()
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
		}
		fmt.Fprintln(w, os.Getpid())
	})
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		defer track()()
		select {
		case <-released:
		case <-r.Context().Done():
		}
		fmt.Fprintln(w, os.Getpid())
	})
	mux.HandleFunc("/release", func(http.ResponseWriter, *http.Request) {
		releaseOnce.Do(func() { close(released) })
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "first")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-released:
		case <-r.Context().Done():
		}
		fmt.Fprintln(w, "second")
	})
	mux.HandleFunc("/sick", func(http.ResponseWriter, *http.Request) { sick.Store(true) })
	mux.HandleFunc("/unready", func(http.ResponseWriter, *http.Request) { unready.Store(true) })
	mux.HandleFunc("/ready", func(http.ResponseWriter, *http.Request) { unready.Store(false) })
	mux.HandleFunc("/pid", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, os.Getpid()) })
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name")))
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]int64{
			"inFlight": inFlight.Load(), "maxInFlight": maxInFlight.Load(), "served": served.Load(),
		})
	})

	srv := &http.Server{Addr: net.JoinHostPort(os.Getenv("CARROT_LISTEN_HOST"), os.Getenv("PORT")), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe() }()
	fmt.Printf("fakefn %d serving on port %s\n", os.Getpid(), os.Getenv("PORT"))

	select {
	case err := <-done:
		fmt.Fprintln(os.Stderr, "fakefn:", err)
		os.Exit(1)
	case <-stop:
	}
	draining.Store(true)
	drain, _ := strconv.Atoi(os.Getenv("DRAIN_SECONDS"))
	time.Sleep(time.Duration(drain) * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	fmt.Fprintln(os.Stderr, "fakefn stopped")
}

// track counts a request in flight and returns the function that ends it.
func track() func() {
	n := inFlight.Add(1)
	for {
		m := maxInFlight.Load()
		if n <= m || maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return func() {
		inFlight.Add(-1)
		served.Add(1)
	}
}
