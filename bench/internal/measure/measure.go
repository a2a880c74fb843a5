// Package measure holds what the load-run tools under bench/ measure about
// a server process from the outside, the same way for every server: its
// CPU time and memory from /proc, the disk space its data directory takes,
// and counters read from its own Prometheus metrics endpoint.
//
// It reads Linux's /proc and is meant for benchmarks, not for production
// code.
package measure

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CPUSeconds is the user+system CPU time of a process, from /proc.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks, nil
}

// RSSBytes is the resident set size of a process, from /proc.
func RSSBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS")
}

// LoadAverage is the machine's one-minute load average, from /proc: how
// many processes were running or waiting for a CPU, which says how much
// the measured server had to share the machine.
func LoadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("empty /proc/loadavg")
	}
	return strconv.ParseFloat(f[0], 64)
}

// PeakRSS samples a process's RSS every 100ms while running, keeping the
// largest value seen.
type PeakRSS struct {
	pid  int
	mu   sync.Mutex
	max  int64
	done chan struct{}
	wg   sync.WaitGroup
}

// SamplePeakRSS starts sampling the RSS of pid. Call Stop to end it.
func SamplePeakRSS(pid int) *PeakRSS {
	p := &PeakRSS{pid: pid, done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if r, err := RSSBytes(p.pid); err == nil {
				p.mu.Lock()
				p.max = max(p.max, r)
				p.mu.Unlock()
			}
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// Max returns the largest RSS sampled so far, in bytes.
func (p *PeakRSS) Max() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// Stop ends the sampling and returns the peak. It must be called once.
func (p *PeakRSS) Stop() int64 {
	close(p.done)
	p.wg.Wait()
	return p.Max()
}

// DirSize is the disk space the files under dir take: allocated blocks,
// as du counts them, so a sparse preallocated file counts for what it
// holds, not for its apparent size.
func DirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				} else {
					n += info.Size()
				}
			}
		}
		return nil
	})
	return n
}

// WaitListening waits until something accepts TCP connections at addr.
func WaitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server not listening on %s after %v", addr, timeout)
}

// ErrNoMetric is returned by MetricSum when the endpoint exposes no
// series of the metric.
var ErrNoMetric = errors.New("metric not found")

// MetricSum sums every series of metric in the Prometheus text exposition
// served at url. Series whose labels contain filter (for example
// `type="float"`) are the only ones summed when filter is not empty.
func MetricSum(url, metric, filter string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		if rest != "" && rest[0] != '{' && rest[0] != ' ' {
			continue // a longer metric name
		}
		if filter != "" && !strings.Contains(rest, filter) {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		// The value follows the labels (which may contain spaces).
		if i := strings.LastIndex(line, "}"); i >= 0 {
			fields = strings.Fields(line[i+1:])
		} else {
			fields = fields[1:]
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("%w: %s at %s", ErrNoMetric, metric, url)
	}
	return sum, sc.Err()
}
