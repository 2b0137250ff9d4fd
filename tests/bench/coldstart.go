package main

// Measurement 3: scale from zero to the first 2xx, per function, through
// the runtime's activator, beside a bare start of the same binary polled
// on its readiness probe.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/tests/system"
)

var coldFunctions = []string{"register-item", "request-chat", "confirm-reservation", "pay", "cancel-payment",
	"write-review", "mypage", "item-policy", "reservation-policy", "outbox-relay"}

// measureColdStarts scales every function from zero rounds times. sys
// must run with a short CARROT_IDLE_GRACE.
func measureColdStarts(sys *system.System, rounds int, samples map[string]any) (map[string]Summary, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	lat := map[string][]time.Duration{}
	errs := map[string]int{}
	for round := 0; round < rounds+1; round++ {
		progress(fmt.Sprintf("3 cold starts: round %d of %d", round, rounds))
		if err := waitScaledToZero(sys, 60*time.Second); err != nil {
			return nil, err
		}
		for _, fn := range coldFunctions {
			// The readiness path through the activator: every function
			// answers it, whatever routes it has.
			d, ok := timed(client, request{Method: http.MethodGet, URL: sys.Cluster + "/functions/" + fn + "/health/readiness"})
			if round == 0 { // the first round warms the page cache
				continue
			}
			if ok {
				lat[fn] = append(lat[fn], d)
			} else {
				errs[fn]++
			}
		}
	}
	out := map[string]Summary{}
	for _, fn := range coldFunctions {
		out[fn] = summarize(lat[fn], errs[fn], 0)
		samples["coldstart runtime "+fn] = lat[fn]
	}
	return out, nil
}

func waitScaledToZero(sys *system.System, max time.Duration) error {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		st, err := sys.Status(context.Background())
		if err == nil {
			running := 0
			for _, f := range st.Functions {
				running += len(f.Instances)
			}
			if running == 0 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("cold start: the functions did not scale to zero within %s", max)
}

// measureBareStarts starts each function's binary itself, rounds times,
// and times it from exec to the first 2xx of its readiness probe, polled
// every millisecond.
func measureBareStarts(sys *system.System, rounds int, samples map[string]any) (map[string]Summary, error) {
	progress("3 bare starts")
	out := map[string]Summary{}
	client := &http.Client{Timeout: time.Second}
	for _, fn := range coldFunctions {
		var lat []time.Duration
		errs := 0
		for round := 0; round < rounds+1; round++ {
			d, err := bareStart(sys, fn, client)
			if round == 0 {
				continue
			}
			if err != nil {
				errs++
				warnf("bare start of %s: %v", fn, err)
				continue
			}
			lat = append(lat, d)
		}
		out[fn] = summarize(lat, errs, 0)
		samples["coldstart bare "+fn] = lat
	}
	return out, nil
}

func bareStart(sys *system.System, fn string, client *http.Client) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(filepath.Join(sys.DataDir, "bin", fn))
	cmd.Env = system.Environ(map[string]string{
		"PORT": strconv.Itoa(port), dynamo.EnvEndpoint: sys.Endpoint, dynamo.EnvRegion: "us-east-1",
		dynamo.EnvTablePrefix: sys.Prefix, web.SecretEnv: benchSecret, "DRAIN_SECONDS": "0",
		"K_SINK": sys.Cluster + system.BrokerIngressPath,
	})
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	readiness := request{Method: http.MethodGet, URL: fmt.Sprintf("http://127.0.0.1:%d/health/readiness", port)}
	for time.Since(t0) < 30*time.Second {
		if code, _, err := readiness.send(client); err == nil && code >= 200 && code < 300 {
			return time.Since(t0), nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("no 2xx within 30s")
}
