// Command drill runs carrot's operational drills against the local
// runtime (make drill starts one) or any base URL, prints a summary table
// per drill and saves its chart (PNG) and report (JSON):
//
//	go run ./tests/drill/cmd/drill [-url http://127.0.0.1:8088] [-cluster http://127.0.0.1:8089] [-out .data/drills] [-short] [drill ...]
//
// With no drill named it runs all of them in order. It exits 1 when a
// check that is not about timing failed or a drill could not run.
//
// CARROT_MAX_SCALE, the runtime's cap on instances, is read as the runtime
// reads it (make drill gives both the same environment), so that the
// overload drill states the capacity the runtime has:
//
//	make drill DRILLS=overload DRILL_FLAGS="-c 700"   # above request-chat's 550
//	make drill DRILLS=overload CARROT_MAX_SCALE=1     # capacity 110 for the seed's 90
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/carrot-market/carrot/infra/web"
	"github.com/carrot-market/carrot/tests/drill"
	"github.com/carrot-market/carrot/tests/system"
)

func main() {
	os.Exit(run())
}

func run() int {
	url := flag.String("url", "http://127.0.0.1:8088", "base URL of the API")
	cluster := flag.String("cluster", "http://127.0.0.1:8089", "base URL of the broker ingress (empty: none)")
	out := flag.String("out", ".data/drills", "folder for the charts and reports")
	short := flag.Bool("short", false, "run the shortened forms (as make test does)")
	concurrency := flag.Int("c", 0, "clients of the overload and autoscale drills (0: the drill's own)")
	verbose := flag.Bool("v", false, "print every step")
	flag.Usage = usage
	flag.Parse()

	drills, err := selected(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	maxScale, err := maxScaleLimit()
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		return 2
	}
	client, err := system.Attach(ctx, system.ClientConfig{Gateway: *url, Cluster: *cluster, JWTSecret: os.Getenv(web.SecretEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		return 1
	}
	env := drill.NewEnv(client, drill.Config{MaxScaleLimit: maxScale})
	if !env.Local {
		fmt.Printf("%s has no /_local routes: not the local runtime; drills that need its controls are skipped\n\n", *url)
	}
	opts := drill.Options{Short: *short, Concurrency: *concurrency}
	if isTerminal(os.Stderr) {
		opts.Progress = os.Stderr
	}
	if *verbose {
		opts.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	}
	dir := filepath.Join(*out, time.Now().Format("20060102-150405"))
	failed := 0
	for _, d := range drills {
		if !runOne(ctx, d, env, opts, dir) {
			failed++
		}
		if ctx.Err() != nil {
			break
		}
	}
	if failed > 0 {
		fmt.Printf("%d of %d drills failed\n", failed, len(drills))
		return 1
	}
	return 0
}

// runOne runs a drill, prints its table and saves its files; it reports
// whether every non-timing check passed.
func runOne(ctx context.Context, d drill.Drill, env *drill.Env, opts drill.Options, dir string) bool {
	rep, err := d.RunOn(ctx, env, opts)
	if rep != nil {
		if saveErr := rep.Save(dir); saveErr != nil {
			fmt.Fprintln(os.Stderr, "drill:", saveErr)
		}
		_ = rep.WriteTable(os.Stdout)
		if rep.JSON != "" {
			fmt.Printf("report  %s\n", rep.JSON)
		}
	}
	if err != nil {
		fmt.Printf("ERROR   %s could not finish: %v\n", d.Name, err)
	}
	fmt.Println()
	return err == nil && rep != nil && len(rep.Failed()) == 0
}

// maxScaleLimit reads CARROT_MAX_SCALE; 0 when it is not set.
func maxScaleLimit() (int, error) {
	s := os.Getenv("CARROT_MAX_SCALE")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("$CARROT_MAX_SCALE %q is not a positive number of instances", s)
	}
	return n, nil
}

// selected returns the drills named, or all of them.
func selected(names []string) ([]drill.Drill, error) {
	if len(names) == 0 {
		return drill.All, nil
	}
	var out []drill.Drill
	for _, name := range names {
		d, ok := drill.Find(name)
		if !ok {
			return nil, fmt.Errorf("no drill %q (drills: %s)", name, strings.Join(drillNames(), ", "))
		}
		out = append(out, d)
	}
	return out, nil
}

func drillNames() []string {
	names := make([]string, 0, len(drill.All))
	for _, d := range drill.All {
		names = append(names, d.Name)
	}
	return names
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: drill [flags] [drill ...]\n\ndrills, in order: %s\n\nflags:\n", strings.Join(drillNames(), " "))
	flag.PrintDefaults()
}

// isTerminal reports whether f is a terminal, where a progress bar helps.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
