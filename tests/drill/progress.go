package drill

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows a drill running on a terminal: a bar over the duration of
// a load, with the answers so far, and a spinner with the current step
// otherwise. A nil *progress shows nothing; all methods are safe for
// concurrent use.
type progress struct {
	w    io.Writer
	name string

	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	load    string
	began   time.Time
	total   time.Duration
	answers int
	ok      int
	ticker  *time.Ticker
	done    chan struct{}
}

func newProgress(w io.Writer, name string) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w, name: name}
	p.bar = p.spinner(name)
	return p
}

func (p *progress) spinner(description string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(description),
		progressbar.OptionSpinnerType(14), progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth())
}

// describe shows the drill's current step.
func (p *progress) describe(step string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.load == "" {
		p.bar.Describe(fmt.Sprintf("%s: %.70s", p.name, step))
		_ = p.bar.Add(1)
	}
}

// start turns the spinner into a bar over a load of duration d.
func (p *progress) start(load string, d time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Clear()
	p.load, p.began, p.total, p.answers, p.ok = load, time.Now(), d, 0, 0
	p.bar = progressbar.NewOptions64(d.Milliseconds(),
		progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(p.name+": "+load),
		progressbar.OptionSetPredictTime(false), progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth())
	p.ticker, p.done = time.NewTicker(200*time.Millisecond), make(chan struct{})
	go p.tick(p.ticker, p.done)
}

func (p *progress) tick(t *time.Ticker, done chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-t.C:
			p.mu.Lock()
			if p.load != "" {
				_ = p.bar.Set64(min(time.Since(p.began), p.total).Milliseconds())
				p.bar.Describe(fmt.Sprintf("%s: %s · %d answers, %d 2xx", p.name, p.load, p.answers, p.ok))
			}
			p.mu.Unlock()
		}
	}
}

// hit counts one answer of the load.
func (p *progress) hit(code uint16) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answers++
	if code >= 200 && code < 300 {
		p.ok++
	}
}

// stop ends the load's bar and goes back to the spinner.
func (p *progress) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ticker.Stop()
	close(p.done)
	p.load = ""
	_ = p.bar.Finish()
	p.bar = p.spinner(p.name)
}

// finish clears the progress from the terminal.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Finish()
	_ = p.bar.Clear()
}
