package main

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// request is one HTTP request of a load run.
type request struct {
	Method, URL string
	Header      http.Header
	Body        []byte
}

// send sends r once with client and returns the status and body of its
// answer.
func (r request) send(client *http.Client) (int, []byte, error) {
	req, err := http.NewRequest(r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = r.Header
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

// answer is what a request got.
type answer struct {
	Code    int
	Latency time.Duration
	At      time.Time // when the request was sent
	Body    []byte
	Err     string
}

// attack sends reqs with vegeta: at most workers at once and as fast as
// they answer when rate is 0, else rate requests per second. It returns
// the answers in no particular order and the wall time of the run.
func attack(name string, reqs []request, workers int, rate int) ([]answer, time.Duration) {
	results := make(chan answer, 64)
	start := time.Now()
	go attackStream(name, reqs, workers, rate, results)
	var out []answer
	for a := range results {
		out = append(out, a)
	}
	return out, time.Since(start)
}

// summarizeAnswers counts 2xx answers as samples and the rest as errors.
func summarizeAnswers(as []answer, wall time.Duration) (Summary, []time.Duration) {
	var samples []time.Duration
	errs := 0
	for _, a := range as {
		if a.Code >= 200 && a.Code < 300 {
			samples = append(samples, a.Latency)
		} else {
			errs++
		}
	}
	return summarize(samples, errs, wall), samples
}

// attackStream is attack that hands every answer to results as it comes,
// and closes results at the end.
func attackStream(name string, reqs []request, workers, rate int, results chan<- answer) {
	var mu sync.Mutex
	next := 0
	targeter := func(t *vegeta.Target) error {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(reqs) {
			return vegeta.ErrNoTargets
		}
		r := reqs[next]
		next++
		t.Method, t.URL, t.Header, t.Body = r.Method, r.URL, r.Header, r.Body
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(workers)), vegeta.MaxWorkers(uint64(workers)), vegeta.KeepAlive(true),
		vegeta.Connections(workers*2), vegeta.Timeout(30*time.Second), vegeta.MaxBody(1<<20))
	pacer := vegeta.Rate{Freq: rate, Per: time.Second} // Freq 0: as fast as the workers go
	for res := range atk.Attack(vegeta.Targeter(targeter), pacer, 0, name) {
		if res.Method == "" { // the targeter ran dry
			continue
		}
		results <- answer{Code: int(res.Code), Latency: res.Latency, At: res.Timestamp, Body: res.Body, Err: res.Error}
	}
	close(results)
}
