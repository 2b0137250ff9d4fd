// Command bench measures carrot on the local runtime against the physical
// limits of the same machine in the same run, and writes the results
// table (results.md), its chart (results.png) and the raw samples
// (.data/bench/samples.json). Run it through `make bench`, which starts
// DynamoDB Local; timings are never asserted anywhere.
//
// Every measurement starts what it measures: the runtime binary as its own
// process (as `make run` does) on fresh ports, data folder and table
// prefix, or, for the broker, a Kafka cluster and the broker in process.
//
// Measurement 1 (usecases.go) has two rows per use case. Column "carrot"
// is the command through the gateway. Column "raw / reference" is, on the
// first row, all the storage work the command causes replayed directly
// with aws-sdk-go-v2 at the same worker count: its own DynamoDB calls and
// the follow-on calls of the policies and the MyPage projector its events
// cause; the budget "a command costs at most 1.5x its raw storage
// operations" is the ratio of the two rates, the cost per command under
// the same load. On the second row it is the command's own calls only,
// shown with its ratio and no budget. Both rows give the calls per
// command (own + follow-on) and the CPU time DynamoDB Local spent per
// command in each run, read from /proc.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/tests/system"
)

// progress and warnf tell the person running the bench what happens, on
// standard error, so that the results on standard output stay clean.
func progress(what string) { fmt.Fprintf(os.Stderr, "bench: %s\n", what) }

func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: warning: "+format+"\n", args...)
}

type config struct {
	root, out         string
	deals, workers    int
	overheadPairs     int
	coldRounds        int
	eventRate         int
	eventShare        float64
	eventFor          time.Duration
	myPageRows, reads int
	brokerEvents      int
	cpuProfile        string
	only              string
	browseSizes       string
	browseReads       int
	scanReads         int
}

// want reports whether measurement section runs.
func (c config) want(section string) bool {
	return c.only == "" || strings.Contains(","+c.only+",", ","+section+",")
}

func main() {
	var c config
	flag.StringVar(&c.root, "root", ".", "the repository")
	flag.StringVar(&c.out, "out", "tests/bench", "where results.md and results.png go, under -root unless absolute")
	flag.IntVar(&c.deals, "deals", 300, "deals per use case (measurement 1)")
	flag.IntVar(&c.workers, "workers", 8, "requests in flight at once (measurement 1)")
	flag.IntVar(&c.overheadPairs, "pairs", 1500, "request pairs, gateway and direct (measurement 2)")
	flag.IntVar(&c.coldRounds, "cold", 5, "cold starts per function (measurement 3)")
	flag.Float64Var(&c.eventShare, "share", 0.5, "commands per second as a share of the raw capacity of their writes, measured in the same run (measurement 4)")
	flag.IntVar(&c.eventRate, "rate", 0, "commands per second instead of -share (measurement 4)")
	flag.DurationVar(&c.eventFor, "for", 15*time.Second, "how long the event path runs (measurement 4)")
	flag.IntVar(&c.myPageRows, "rows", 10000, "rows in the MyPage view (measurement 6)")
	flag.IntVar(&c.reads, "reads", 500, "MyPage page reads (measurement 6)")
	flag.IntVar(&c.brokerEvents, "events", 20000, "events through the broker (measurement 5)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the bench process (the in-process broker) here")
	flag.StringVar(&c.only, "only", "", "run only these measurements, e.g. 1,5 (default: all)")
	flag.StringVar(&c.browseSizes, "sizes", "1000,10000,100000", "catalogue sizes, growing (measurement 8)")
	flag.IntVar(&c.browseReads, "browse-reads", 100, "reads of each browsing page per size (measurement 8)")
	flag.IntVar(&c.scanReads, "scan-reads", 5, "reads of each Scan listing page per size (measurement 8)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	began := time.Now()
	root, err := filepath.Abs(c.root)
	if err != nil {
		return err
	}
	endpoint := os.Getenv(dynamo.EnvEndpoint)
	if endpoint == "" {
		return fmt.Errorf("%s is not set: run through `make bench`, which starts DynamoDB Local", dynamo.EnvEndpoint)
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	work := filepath.Join(root, ".data", "bench")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	binary := filepath.Join(work, "carrot")
	progress("building the runtime")
	if err := system.Build(ctx, root, binary); err != nil {
		return err
	}
	ddb, err := dynamo.NewClient(ctx, dynamo.Config{Endpoint: endpoint})
	if err != nil {
		return err
	}
	run := randomID()
	prefixA, prefixB, prefixCap := "bench-"+run+"-a-", "bench-"+run+"-b-", "bench-"+run+"-c-"
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, p := range []string{prefixA, prefixB, prefixCap} {
			_ = dynamo.DeleteTables(cctx, ddb, p)
		}
	}()
	if err := dynamo.CreateTables(ctx, ddb, prefixCap); err != nil {
		return err
	}
	samples := map[string]any{}
	var rows []Row

	// 5. The broker first, in process, while nothing else runs.
	var brk brokerResult
	if c.want("5") {
		if brk, err = measureBroker(ctx, root, c.brokerEvents, true); err != nil {
			return err
		}
		rows = append(rows, brokerRows(brk)...)
	}
	// 8. Browsing, on its own tables, while nothing else runs.
	if c.want("8") {
		sizes, err := parseSizes(c.browseSizes)
		if err != nil {
			return err
		}
		prefixBrowse := "bench-" + run + "-d-"
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = dynamo.DeleteTables(cctx, ddb, prefixBrowse)
		}()
		if err := dynamo.CreateTables(ctx, ddb, prefixBrowse); err != nil {
			return err
		}
		res, err := measureBrowsing(ctx, ddb, prefixBrowse, sizes, c.browseReads, c.scanReads, samples)
		if err != nil {
			return err
		}
		rows = append(rows, browseRows(res)...)
	}
	var uc map[string]stepResult
	if c.want("1") || c.want("2") || c.want("4") || c.want("6") || c.want("7") {
		if uc, err = warmSystem(ctx, c, binary, root, work, prefixA, prefixCap, endpoint, ddb, samples, &rows); err != nil {
			return err
		}
	}
	if c.want("3") {
		if err := coldSystem(ctx, c, binary, root, work, prefixB, endpoint, samples, &rows); err != nil {
			return err
		}
	}
	_ = run

	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Section < rows[j].Section })
	took := time.Since(began)
	md := "# carrot benchmarks\n\nWritten by `make bench` (tests/bench). Each number has the raw or reference number of the same run beside it.\n\n"
	if uc != nil {
		md += fmt.Sprintf(useCaseLegend, c.workers)
	}
	md += Markdown(rows, thisMachine(), took)
	out := c.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := writeChart(rows, filepath.Join(out, "results.png")); err != nil {
		return err
	}
	raw := map[string]any{"rows": rows, "machine": thisMachine(), "samples": nanos(samples), "broker": brk, "useCases": uc}
	b, err := json.MarshalIndent(raw, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "samples.json"), b, 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}

func nanos(samples map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range samples {
		if ds, ok := v.([]time.Duration); ok {
			ns := make([]int64, len(ds))
			for i, d := range ds {
				ns[i] = int64(d)
			}
			out[k+" (ns)"] = ns
			continue
		}
		out[k] = v
	}
	return out
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// useCaseRows gives two rows per use case: against the raw run of all
// the storage work the command causes, with the budget, and against the
// raw run of its own calls only, which informs.
func useCaseRows(uc map[string]stepResult) []Row {
	var rows []Row
	for _, st := range steps {
		r := uc[st.Name]
		route := st.Method + " " + st.Path(&deal{Item: "{id}", Rsv: "{id}", Pay: "{id}"})
		cpu := func(d time.Duration) string {
			if !r.CPUKnown {
				return ""
			}
			return fmt.Sprintf("; DynamoDB Local CPU %.1f ms/command", msf(d))
		}
		cpuRatio := func(raw time.Duration) string {
			if !r.CPUKnown {
				return ""
			}
			return fmt.Sprintf(", %.2fx DynamoDB Local CPU", ratio(msf(r.GatewayCPU), msf(raw)))
		}
		rows = append(rows,
			Row{Section: "1", Name: st.Name + " (" + route + ") vs raw all the storage work it causes",
				Carrot: latency(r.Gateway) + cpu(r.GatewayCPU) + fmt.Sprintf("; runtime + %s CPU %.1f ms/command", st.Function, msf(r.GoCPU)),
				Raw:    latency(r.RawAll) + fmt.Sprintf(" (%d own + %d follow-on calls)", r.Ops, r.FollowOps) + cpu(r.RawAllCPU),
				Ratio: fmt.Sprintf("%.2fx cost (rate), %.2fx p50, %.2fx p99", ratio(r.RawAll.Rate, r.Gateway.Rate),
					ratio(msf(r.Gateway.P50), msf(r.RawAll.P50)), ratio(msf(r.Gateway.P99), msf(r.RawAll.P99))) + cpuRatio(r.RawAllCPU),
				Checked: ratio(r.RawAll.Rate, r.Gateway.Rate), Budget: &Budget{Limit: 1.5, Text: "cost ≤ 1.5x raw (rate ratio)"}},
			Row{Section: "1", Name: st.Name + " vs raw its own calls only",
				Carrot: "as above",
				Raw:    latency(r.Raw) + fmt.Sprintf(" (%d own calls)", r.Ops) + cpu(r.RawCPU),
				Ratio: fmt.Sprintf("%.2fx rate, %.2fx p50, %.2fx p99", ratio(r.Raw.Rate, r.Gateway.Rate),
					ratio(msf(r.Gateway.P50), msf(r.Raw.P50)), ratio(msf(r.Gateway.P99), msf(r.Raw.P99))) + cpuRatio(r.RawCPU)},
		)
	}
	if uc[steps[0].Name].CPUKnown {
		rows = append(rows, Row{Section: "1", Name: "DynamoDB Local CPU while the warm system idles (outbox relay ticks, probes), before the runs",
			Carrot: fmt.Sprintf("%.1f ms per second", msf(idleStorageCPU))})
	}
	return rows
}

// useCaseLegend says what measurement 1's columns hold.
const useCaseLegend = `Measurement 1, two rows per use case. **carrot**: the command through the gateway, %d workers, as fast as they go;
its DynamoDB Local CPU counts until every event it caused is handled. **raw / reference**, first row: "all the storage work it causes",
the command's own DynamoDB calls and the follow-on calls of the policies and the MyPage projector that its events cause, replayed
directly with aws-sdk-go-v2 at the same worker count, each worker doing one deal's own calls then its follow-on calls (latency is
both together); the budget is on this row's rate ratio, the cost per command under the same load. Second row: its own calls only
(follow-on calls run afterwards, untimed), as a lower bound. "own + follow-on calls" counts DynamoDB calls per command;
"DynamoDB Local CPU" is user+system time of the DynamoDB Local process per command, from /proc; "runtime + function CPU"
is the same for carrot's own processes in the gateway run (gateway, activator, broker and Kafka, and the function's instances),
which share the machine's cores with DynamoDB Local: where a command's storage work is small (get item), they set its rate.

`

func brokerRows(b brokerResult) []Row {
	mode := "unordered"
	if b.Ordered {
		mode = "ordered, as the manifests' triggers"
	}
	return []Row{
		{Section: "5", Name: fmt.Sprintf("%d events, ingress → Kafka → dispatcher → no-op (%s)", b.N, mode),
			Carrot: fmt.Sprintf("%.0f events/s (ingress accepted %.0f/s)", b.Carrot, b.Ingress), Raw: fmt.Sprintf("franz-go produce+consume: %.0f records/s", b.Raw),
			Ratio: fmt.Sprintf("%.2fx raw", ratio(b.Carrot, b.Raw)), Checked: b.Carrot, Budget: &Budget{Min: true, Limit: 3000, Text: "≥ 3,000 events/s"}},
		{Section: "5", Name: "broker against the loopback HTTP ceiling (2 requests per event)", Carrot: fmt.Sprintf("%.0f events/s", b.Carrot),
			Raw:   fmt.Sprintf("plain POSTs to the no-op: %.0f/s, so %.0f events/s at 2 per event", b.HTTP, b.HTTP/2),
			Ratio: fmt.Sprintf("%.2fx the HTTP ceiling; the ceiling itself is %.3fx raw Kafka, so ≥ 0.3x raw cannot be met with HTTP in and out", ratio(b.Carrot, b.HTTP/2), ratio(b.HTTP/2, b.Raw))},
		{Section: "5", Name: "broker against raw Kafka", Carrot: fmt.Sprintf("%.0f events/s", b.Carrot), Raw: fmt.Sprintf("%.0f records/s", b.Raw),
			Ratio: fmt.Sprintf("%.2fx raw", ratio(b.Carrot, b.Raw)), Checked: ratio(b.Carrot, b.Raw), Budget: &Budget{Min: true, Limit: 0.3, Text: "≥ 0.3x raw"}},
	}
}

func coldRows(cold, bare map[string]Summary) []Row {
	var rows []Row
	for _, fn := range coldFunctions {
		c, b := cold[fn], bare[fn]
		rows = append(rows, Row{Section: "3", Name: "scale from zero to first 2xx: " + fn,
			Carrot: latency(c), Raw: "bare start: " + latency(b),
			Ratio: fmt.Sprintf("+%.1f ms p50", msf(c.P50-b.P50)), Checked: msf(c.P50), Budget: &Budget{Limit: 100, Text: "p50 ≤ 100 ms"}})
	}
	return rows
}

// warmSystem runs measurements 1, 2, 4, 6 and 7 on one system whose
// instances keep the manifests' idle windows.
func warmSystem(ctx context.Context, c config, binary, root, work, prefixA, prefixCap, endpoint string, ddb *dynamodb.Client, samples map[string]any, rows *[]Row) (map[string]stepResult, error) {
	// The warm system: the manifests' idle windows, so instances stay.
	sysA, err := startSystem(ctx, binary, root, filepath.Join(work, "run-"+prefixA), prefixA, endpoint, 0, nil)
	if err != nil {
		return nil, err
	}
	defer sysA.Close()

	// 7. Memory, idle: one instance that has served one request, left
	// alone for a few seconds.
	pid, _, err := instance(sysA, "register-item")
	if err != nil {
		return nil, err
	}
	time.Sleep(3 * time.Second)
	idle, err := rss(pid)
	if err != nil {
		return nil, err
	}
	// Of that, the private memory and the binary's own pages, which every
	// instance of one image on a node shares.
	anon, errAnon := procStatus(pid, "RssAnon")
	file, errFile := procStatus(pid, "RssFile")
	idleParts := "–"
	if errAnon == nil && errFile == nil {
		idleParts = fmt.Sprintf("private (RssAnon) %s, the binary's pages (RssFile) %s", mib(anon), mib(file))
	}

	// 1. Use cases, with the resident size of register-item sampled while
	// it is under load.
	var stopRSS chan struct{}
	var peak <-chan int64
	var loaded int64
	onLoad := func(fn string, running bool) {
		if fn != "register-item" {
			return
		}
		if running && stopRSS == nil {
			stopRSS = make(chan struct{})
			peak = sampleRSS(sysA, fn, 100*time.Millisecond, stopRSS)
		} else if !running && stopRSS != nil {
			close(stopRSS)
			loaded = max(loaded, <-peak)
			stopRSS = nil
		}
	}
	var uc map[string]stepResult
	if c.want("1") {
		if uc, err = measureUseCases(ctx, sysA, ddb, prefixCap, c.deals, c.workers, onLoad, samples); err != nil {
			return nil, err
		}
		*rows = append(*rows, useCaseRows(uc)...)
	}

	// 2. Gateway and instance management against the instance's port.
	if c.want("2") {
		gw, direct, err := measureOverhead(sysA, c.overheadPairs, samples)
		if err != nil {
			return nil, err
		}
		*rows = append(*rows, Row{Section: "2", Name: "GET /items/{id}: gateway vs the instance's port", Carrot: latency(gw), Raw: latency(direct),
			Ratio:   fmt.Sprintf("+%.2f ms p50, +%.2f ms p99", msf(gw.P50-direct.P50), msf(gw.P99-direct.P99)),
			Checked: msf(gw.P50 - direct.P50), Budget: &Budget{Limit: 0.5, Text: "≤ +0.5 ms p50"}})
		traced, err := measureTracedOverhead(ctx, c, binary, root, work, strings.TrimSuffix(prefixA, "a-")+"t-", endpoint, ddb, sysA, samples)
		if err != nil {
			return nil, err
		}
		*rows = append(*rows, traced)
	}

	// 4. Event path, at a share of the raw capacity of the same writes
	// on this machine, so that a slow machine is not overloaded.
	if c.want("4") {
		load, err := eventLoad(ctx, c, ddb, prefixCap, uc)
		if err != nil {
			return nil, err
		}
		waitQuiet(sysA, 30*time.Second)
		ep, cmds, err := measureEventPath(sysA, load.Rate, c.eventFor, 5*time.Millisecond, samples)
		if err != nil {
			return nil, err
		}
		*rows = append(*rows, Row{Section: "4", Name: fmt.Sprintf("201 of POST /items to GET /myPages/{id} showing it, at %d/s (%s)", load.Rate, load),
			Carrot: latency(Summary{N: ep.N, Errors: ep.Errors, P50: ep.P50, P99: ep.P99}), Raw: "the commands: " + latency(cmds),
			Ratio: "polled every 5 ms", Checked: msf(ep.P99), Budget: &Budget{Limit: 100, Text: "p99 ≤ 100 ms"}})
	}

	// 6. MyPage.
	if c.want("6") {
		waitQuiet(sysA, 30*time.Second)
		mp, mpRaw, err := measureMyPage(ctx, sysA, ddb, c.myPageRows, c.reads, samples)
		if err != nil {
			return nil, err
		}
		*rows = append(*rows, Row{Section: "6", Name: fmt.Sprintf("GET /myPages?limit=100, %d rows in the view", c.myPageRows),
			Carrot: latency(mp), Raw: "Store.Rows: " + latency(mpRaw), Ratio: fmt.Sprintf("%.2fx p99", ratio(msf(mp.P99), msf(mpRaw.P99))),
			Checked: msf(mp.P99), Budget: &Budget{Limit: 20, Text: "p99 ≤ 20 ms"}})
	}

	if c.want("7") {
		*rows = append(*rows, Row{Section: "7", Name: "register-item instance idle (VmRSS)", Carrot: mib(idle), Raw: idleParts, Checked: float64(idle) / (1 << 20), Budget: &Budget{Limit: 30, Text: "≤ 30 MiB"}})
		if loaded > 0 {
			*rows = append(*rows, Row{Section: "7", Name: "register-item instance under load (peak VmRSS)", Carrot: mib(loaded), Raw: "idle: " + mib(idle)})
		}
	}
	sysA.Close()

	return uc, nil
}

// coldSystem runs measurement 3 on a system whose instances stop after
// one second idle.
func coldSystem(ctx context.Context, c config, binary, root, work, prefixB, endpoint string, samples map[string]any, rows *[]Row) error {
	// 3. Cold starts, on a system whose instances stop after 1 s idle.
	sysB, err := startSystem(ctx, binary, root, filepath.Join(work, "run-"+prefixB), prefixB, endpoint, time.Second, nil)
	if err != nil {
		return err
	}
	defer sysB.Close()
	cold, err := measureColdStarts(sysB, c.coldRounds, samples)
	if err != nil {
		return err
	}
	bare, err := measureBareStarts(sysB, c.coldRounds, samples)
	if err != nil {
		return err
	}
	sysB.Close()
	*rows = append(*rows, coldRows(cold, bare)...)

	return nil
}
