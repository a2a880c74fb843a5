package wal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashDirEnv tells TestCrashChild, run as a child process, where the log
// is; crashRoundEnv makes its record ids unique across rounds.
const (
	crashDirEnv   = "ARGUS_WAL_CRASH_DIR"
	crashRoundEnv = "ARGUS_WAL_CRASH_ROUND"
)

// TestCrash kills a process that is appending, with SIGKILL, at a moment
// it does not choose, and checks that every record the process reported
// as acknowledged is in the log. It does so over several rounds on the
// same directory, so later rounds also recover from the damage earlier
// kills left behind.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	acked := map[uint64]bool{}
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		// Kill after a varying number of acknowledgements, mid-stream.
		killAfter := 2000 + round*777
		n := 0
		for n < killAfter {
			line, err := r.ReadString('\n')
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: child stopped after %d acks: %v", round, n, err)
			}
			acked[parseAck(t, line)] = true
			n++
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		// Acks already in the pipe were printed after their Append
		// returned; they count too. A last line without its newline is
		// the child dying mid-print and does not.
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			acked[parseAck(t, line)] = true
			n++
		}
		werr := cmd.Wait()
		var exitErr *exec.ExitError
		if !errors.As(werr, &exitErr) || exitErr.ExitCode() != -1 {
			t.Fatalf("round %d: child exited with %v, want killed by a signal", round, werr)
		}

		w := mustOpen(t, Options{Dir: dir, NoSync: true})
		found := map[uint64]bool{}
		st, err := w.Replay(func(rec []byte) error {
			id := recordID(t, rec)
			if found[id] {
				return fmt.Errorf("record %#x replayed twice", id)
			}
			found[id] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for id := range acked {
			if !found[id] {
				t.Fatalf("round %d: acknowledged record %#x lost (%d acked, %d found)", round, id, len(acked), len(found))
			}
		}
		t.Logf("round %d: %d acks read, %d records acked in all, %d in the log, %d segments, damage %v",
			round, n, len(acked), len(found), st.Segments, st.Corrupt)
	}
}

func parseAck(t *testing.T, line string) uint64 {
	t.Helper()
	id, err := strconv.ParseUint(strings.TrimSuffix(line, "\n"), 10, 64)
	if err != nil {
		t.Fatalf("child printed %q", line)
	}
	return id
}

// TestCrashChild is the process TestCrash kills: it appends from many
// goroutines with fsync on, and prints the id of each record after Append
// returns, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	round, _ := strconv.ParseUint(os.Getenv(crashRoundEnv), 10, 64)
	w, err := Open(Options{Dir: dir, SegmentSize: 128 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Replay(func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	for g := range uint64(16) {
		go func() {
			var line []byte
			for i := uint64(0); ; i++ {
				id := round<<48 | g<<32 | i
				if _, err := w.Append(record(id)); err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				line = strconv.AppendUint(line[:0], id, 10)
				line = append(line, '\n')
				mu.Lock()
				os.Stdout.Write(line)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute)
	t.Fatal("not killed within a minute")
}
