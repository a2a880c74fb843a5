// Package e2e holds Argus's end-to-end tests: they build the real argus
// binary, start it on loopback ports, and talk to it over its real
// protocols with real clients (the OpenTelemetry Go SDK, plain HTTP).
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// argusBin is the binary under test, built once by TestMain.
var argusBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "argus-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	argusBin = filepath.Join(dir, "argus")
	build := exec.Command("go", "build", "-o", argusBin, "../cmd/argus")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build argus:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// readBinarySources reads the files of cmd/argus while a test runs, so
// that go test's cache, which records the files tests open, reruns the
// tests when they change (the packages they import are covered by
// deps_test.go).
func readBinarySources() {
	files, _ := filepath.Glob("../cmd/argus/*.go")
	for _, f := range files {
		_, _ = os.ReadFile(f)
	}
}

// server is one running argus process.
type server struct {
	t        *testing.T
	cmd      *exec.Cmd
	dataDir  string
	httpAddr string
	grpcAddr string
	otlpHTTP string
	exited   chan struct{}
	// lastSampleMS is the timestamp of the last sample setQueueDepth wrote.
	lastSampleMS int64

	mu     sync.Mutex
	log    strings.Builder // everything it logged
	stdout strings.Builder // everything it printed
}

// startArgus starts argus on free loopback ports with the given data
// directory and extra flags, and waits until it is ready.
func startArgus(t *testing.T, dataDir string, args ...string) *server {
	t.Helper()
	args = append([]string{"serve",
		"--http.addr=127.0.0.1:0", "--otlp.grpc.addr=127.0.0.1:0", "--otlp.http.addr=127.0.0.1:0",
		"--data.dir=" + dataDir, "--log.format=json", "--log.level=debug"}, args...)
	s, rec := launch(t, "argus is ready", 60*time.Second, args...)
	s.dataDir = dataDir
	s.httpAddr, _ = rec["http"].(string)
	s.grpcAddr, _ = rec["otlp_grpc"].(string)
	s.otlpHTTP, _ = rec["otlp_http"].(string)
	return s
}

// launch runs the argus binary with args, keeps everything it logs (JSON
// lines on stderr), kills it when the test ends, and waits up to timeout
// for the log record whose msg is ready, which it returns.
func launch(t *testing.T, ready string, timeout time.Duration, args ...string) (*server, map[string]any) {
	t.Helper()
	readBinarySources()
	cmd := exec.Command(argusBin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout = stdoutWriter{s}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readyc := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == ready {
				readyc <- rec
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", strings.Join(args[:1], " "), s.logs())
		}
	})
	select {
	case rec := <-readyc:
		return s, rec
	case <-s.exited:
		t.Fatalf("argus %s exited before it was ready:\n%s", args[0], s.logs())
	case <-time.After(timeout):
		t.Fatalf("argus %s not ready after %s:\n%s", args[0], timeout, s.logs())
	}
	return nil, nil
}

// stdoutWriter keeps what the process prints.
type stdoutWriter struct{ s *server }

func (w stdoutWriter) Write(b []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.stdout.Write(b)
}

// printed returns what the process printed on standard output.
func (s *server) printed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// stop shuts the server down gracefully (SIGTERM) and checks it exits 0.
func (s *server) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		s.t.Fatal("argus did not stop within 60s of SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		s.t.Fatalf("argus exited with %d:\n%s", code, s.logs())
	}
}

// kill ends the server with SIGKILL, as a crash would.
func (s *server) kill() {
	s.t.Helper()
	s.cmd.Process.Kill()
	<-s.exited
}

func (s *server) url(path string) string { return "http://" + s.httpAddr + path }

// getJSON fetches path from the HTTP port and decodes the JSON answer,
// failing the test unless the status is want.
func (s *server) getJSON(path string, want int, v any) {
	s.t.Helper()
	resp, err := http.Get(s.url(path))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("GET %s: status %d, want %d: %s", path, resp.StatusCode, want, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			s.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
}

// eventually retries f until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
