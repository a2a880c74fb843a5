package syslog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// Defaults for the zero fields of Options.
const (
	// DefaultAddr is a loopback address: syslog has no authentication,
	// so listening beyond the host is the operator's explicit choice.
	// 5514 is the customary unprivileged stand-in for port 514.
	DefaultAddr = "127.0.0.1:5514"

	// DefaultMaxMessageBytes is larger than any UDP datagram, and than
	// the 8 KiB rsyslog and syslog-ng default to, while bounding what
	// one TCP message can make the server buffer.
	DefaultMaxMessageBytes = 64 << 10

	// DefaultIdleTimeout closes TCP connections that send nothing for
	// this long. Forwarders reconnect on their own.
	DefaultIdleTimeout = 5 * time.Minute

	// DefaultMaxConnections caps concurrent TCP connections.
	DefaultMaxConnections = 1000
)

// Batching: records are written in batches of up to maxBatch, and no
// record waits longer than flushInterval for its batch to fill. Syslog
// has no acknowledgement, so nothing is gained by writing each message
// alone, while the store makes each write durable.
const (
	maxBatch      = 1000
	flushInterval = 100 * time.Millisecond
	queueLen      = 1024 // messages read but not yet parsed

	// Retry delays while the store is overloaded.
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second

	// maxMessageCap bounds Options.MaxMessageBytes below what a
	// nine-digit octet-counting header can announce.
	maxMessageCap = 1 << 29

	// udpReadBuffer is asked of the kernel for the UDP socket, so bursts
	// wait there rather than being dropped uncounted. The kernel may
	// grant less (net.core.rmem_max).
	udpReadBuffer = 4 << 20
)

// Options configures a Server. The zero value works except for Writer,
// which is required.
type Options struct {
	// Addr is the host:port to listen on, for TCP and UDP alike. Empty
	// means DefaultAddr.
	Addr string

	// Writer stores the records. Required.
	Writer store.LogWriter

	// Logger receives connection and store problems. Nil discards.
	Logger *slog.Logger

	// Registerer gets the receiver's metrics. Nil leaves them
	// unregistered (they are still counted).
	Registerer prometheus.Registerer

	// Now returns the current time: the records' observed time, and the
	// reference for RFC 3164 timestamps, which have no year or zone. Nil
	// means time.Now.
	Now func() time.Time

	// MaxMessageBytes is the longest message accepted, framing excluded.
	// Zero or less means DefaultMaxMessageBytes; more than 512 MiB means
	// 512 MiB.
	MaxMessageBytes int

	// IdleTimeout closes a TCP connection that sends nothing for this
	// long. Zero or less means DefaultIdleTimeout.
	IdleTimeout time.Duration

	// MaxConnections caps concurrent TCP connections; one more is
	// closed as soon as it is accepted. Zero or less means
	// DefaultMaxConnections.
	MaxConnections int
}

// Server receives syslog messages over TCP and UDP on one address and
// writes them as log records through a store.LogWriter. Its lifecycle is
// New, Start, Shutdown; its methods are safe for concurrent use.
type Server struct {
	addr     string
	writer   store.LogWriter
	logger   *slog.Logger
	now      func() time.Time
	maxBytes int
	idle     time.Duration
	maxConns int
	metrics  *metrics

	// flushInterval is the constant of that name; tests lengthen it.
	flushInterval time.Duration

	queue     chan item
	closing   chan struct{} // closed when Shutdown starts
	abort     chan struct{} // closed when Shutdown gives up waiting: drop rather than wait
	inputDone chan struct{} // closed when every reader has stopped: flush and exit
	batchDone chan struct{} // closed when the batcher has exited
	inputs    sync.WaitGroup
	writeCtx  context.Context // canceled with abort, to interrupt a write
	cancel    context.CancelFunc

	mu       sync.Mutex // guards the fields below
	started  bool
	shutdown bool
	tcp      net.Listener
	udp      net.PacketConn
	conns    map[net.Conn]struct{}

	shutOnce  sync.Once
	abortOnce sync.Once
	shutErr   error
}

// item is one message on its way from a reader to the batcher.
type item struct {
	text string
	now  time.Time
}

// New returns a Server for opts. It fails when Writer is nil or the
// metrics cannot be registered. It binds nothing: Start does.
func New(opts Options) (*Server, error) {
	if opts.Writer == nil {
		return nil, errors.New("syslog receiver: no log writer")
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		addr:          opts.Addr,
		writer:        opts.Writer,
		logger:        opts.Logger,
		now:           opts.Now,
		maxBytes:      opts.MaxMessageBytes,
		idle:          opts.IdleTimeout,
		maxConns:      opts.MaxConnections,
		metrics:       m,
		flushInterval: flushInterval,
		queue:         make(chan item, queueLen),
		closing:       make(chan struct{}),
		abort:         make(chan struct{}),
		inputDone:     make(chan struct{}),
		batchDone:     make(chan struct{}),
		conns:         make(map[net.Conn]struct{}),
	}
	if s.addr == "" {
		s.addr = DefaultAddr
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxMessageBytes
	}
	s.maxBytes = min(s.maxBytes, maxMessageCap)
	if s.idle <= 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConnections
	}
	s.writeCtx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start binds the TCP and UDP listeners and serves them in the
// background. It returns the bind error, if any, with nothing left bound.
// ctx bounds the binding only. Start may be called once, and not after
// Shutdown.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.shutdown:
		return errors.New("syslog receiver: start after shutdown")
	case s.started:
		return errors.New("syslog receiver: already started")
	}
	var lc net.ListenConfig
	tcp, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen syslog tcp on %s: %w", s.addr, err)
	}
	udp, err := lc.ListenPacket(ctx, "udp", s.addr)
	if err != nil {
		tcp.Close()
		return fmt.Errorf("listen syslog udp on %s: %w", s.addr, err)
	}
	if uc, ok := udp.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(udpReadBuffer) // best effort: the kernel caps it
	}
	s.tcp, s.udp, s.started = tcp, udp, true
	s.inputs.Add(2)
	go s.acceptLoop(tcp)
	go s.readUDP(udp)
	go s.batchLoop()
	s.logger.Info("syslog receiver listening", "tcp", tcp.Addr().String(), "udp", udp.LocalAddr().String())
	return nil
}

// Addr returns the bound TCP and UDP addresses, which differ in port when
// Options.Addr asks for port 0. Both are nil before Start.
func (s *Server) Addr() (tcp, udp net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil, nil
	}
	return s.tcp.Addr(), s.udp.LocalAddr()
}

// Shutdown stops accepting, closes the listeners and every connection,
// writes the records already read and waits for the server's goroutines.
// Messages still unread in the kernel's buffers are lost, as they would
// be with any syslog server that stops. If ctx ends first (the store
// stays overloaded), the records not yet written are dropped and counted,
// and Shutdown returns ctx's error once the goroutines are gone. It is
// idempotent and safe without Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		defer s.cancel()
		s.mu.Lock()
		s.shutdown = true
		close(s.closing)
		started := s.started
		if started {
			s.tcp.Close()
			s.udp.Close()
			for c := range s.conns {
				c.Close()
			}
		}
		s.mu.Unlock()
		if !started {
			return
		}
		inputsDone := make(chan struct{})
		go func() { s.inputs.Wait(); close(inputsDone) }()
		s.shutErr = s.wait(ctx, inputsDone)
		close(s.inputDone)
		if err := s.wait(ctx, s.batchDone); err != nil {
			s.shutErr = err
		}
	})
	return s.shutErr
}

// wait waits for done; if ctx ends first it aborts whatever waits on the
// store, then still waits for done, which aborting makes prompt.
func (s *Server) wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.abortOnce.Do(func() {
			close(s.abort)
			s.cancel()
		})
		<-done
		return ctx.Err()
	}
}

// acceptLoop accepts TCP connections until the listener is closed.
func (s *Server) acceptLoop(l net.Listener) {
	defer s.inputs.Done()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as
			// net/http does rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger.Warn("syslog accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-s.closing:
				return
			}
			continue
		}
		delay = 0
		if !s.track(c) {
			c.Close()
			continue
		}
		go s.serveConn(c)
	}
}

// track registers c, unless the server is shutting down or full.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	if len(s.conns) >= s.maxConns {
		s.logger.Debug("syslog connection refused: too many connections", "remote", c.RemoteAddr().String(), "max", s.maxConns)
		return false
	}
	s.conns[c] = struct{}{}
	s.inputs.Add(1)
	s.metrics.connections.Inc()
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.metrics.connections.Dec()
	s.inputs.Done()
}

// idleReader sets the connection's read deadline before each read, so a
// connection that sends nothing for the idle timeout is closed.
type idleReader struct {
	c    net.Conn
	idle time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	if err := r.c.SetReadDeadline(time.Now().Add(r.idle)); err != nil {
		return 0, err
	}
	return r.c.Read(p)
}

// serveConn reads one TCP connection's messages until it ends, goes idle,
// breaks its framing, or the server shuts down.
func (s *Server) serveConn(c net.Conn) {
	defer s.untrack(c)
	err := s.readFrames(newFramer(idleReader{c, s.idle}, s.maxBytes))
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.logger.Debug("syslog connection idle: closed", "remote", c.RemoteAddr().String(), "idle_timeout", s.idle)
	default:
		s.logger.Debug("syslog connection closed", "remote", c.RemoteAddr().String(), "err", err)
	}
}

// readFrames hands every message of fr to the batcher, waiting while
// the batcher is behind: that stops reading the connection, and TCP
// flow control slows the sender. It returns the error that ended the
// stream, or nil when the server aborted.
func (s *Server) readFrames(fr *framer) error {
	for {
		frame, tooLarge, err := fr.next()
		if err != nil {
			if errors.Is(err, errBadFrame) {
				s.metrics.received.Inc()
				s.metrics.rejected[reasonInvalid].Inc()
			}
			return err
		}
		if tooLarge {
			s.metrics.received.Inc()
			s.metrics.rejected[reasonTooLarge].Inc()
			s.logger.Debug("syslog message refused: too large", "max_bytes", s.maxBytes)
			continue
		}
		if frame = trimFrame(frame); len(frame) == 0 {
			continue // a blank line is framing, not a message
		}
		s.metrics.received.Inc()
		select {
		case s.queue <- item{text: string(frame), now: s.now()}:
		case <-s.abort:
			s.metrics.rejected[reasonDroppedOverloaded].Inc()
			return nil
		}
	}
}

// trimFrame drops the line ends and NULs a sender put after a message.
func trimFrame(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', 0:
			b = b[:len(b)-1]
		default:
			return b
		}
	}
	return b
}

// readUDP takes one message per datagram until the socket is closed.
// UDP has no flow control: a message that finds the batcher's queue full
// is dropped and counted rather than stalling the socket, where the
// kernel would drop the following ones uncounted.
func (s *Server) readUDP(pc net.PacketConn) {
	defer s.inputs.Done()
	buf := make([]byte, 1<<16) // larger than any UDP payload
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Warn("syslog udp read failed", "err", err)
			continue
		}
		frame := trimFrame(buf[:n])
		if len(frame) == 0 {
			continue
		}
		s.metrics.received.Inc()
		if len(frame) > s.maxBytes {
			s.metrics.rejected[reasonTooLarge].Inc()
			continue
		}
		select {
		case s.queue <- item{text: string(frame), now: s.now()}:
		default:
			s.metrics.rejected[reasonDroppedOverloaded].Inc()
		}
	}
}

// batchLoop parses the queued messages and writes them in batches until
// the readers have stopped and the queue is empty.
func (s *Server) batchLoop() {
	defer close(s.batchDone)
	b := &batcher{s: s}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case it := <-s.queue:
			b.add(it)
			switch len(b.records) {
			case maxBatch:
				timer.Stop()
				b.flush()
			case 1:
				timer.Reset(s.flushInterval)
			}
		case <-timer.C:
			b.flush()
		case <-s.inputDone:
			timer.Stop()
			for {
				select {
				case it := <-s.queue:
					if b.add(it); len(b.records) == maxBatch {
						b.flush()
					}
					continue
				default:
				}
				break
			}
			b.flush()
			return
		}
	}
}

// batcher is the batch being filled. Only batchLoop uses it.
type batcher struct {
	s          *Server
	p          parser
	records    []model.LogRecord
	overloaded bool // the last write was refused as overloaded
}

func (b *batcher) add(it item) {
	b.records = append(b.records, model.LogRecord{})
	rec := &b.records[len(b.records)-1]
	if err := b.p.parse(it.text, it.now, rec); err != nil {
		b.records = b.records[:len(b.records)-1]
		b.s.metrics.rejected[reasonInvalid].Inc()
		b.s.logger.Debug("syslog message refused", "err", err)
	}
}

// flush writes the batch. While the store is overloaded it retries with
// growing delays, holding the batch: readers then find the queue full,
// TCP connections stop being read and UDP messages are dropped. Only
// Shutdown's deadline makes it give up. Any other store error is logged
// and the batch dropped: the sender cannot be told, and retrying a
// broken store would stall every connection.
func (b *batcher) flush() {
	if len(b.records) == 0 {
		return
	}
	s := b.s
	n := len(b.records)
	backoff := minBackoff
	for {
		err := s.writer.WriteLogs(s.writeCtx, b.records)
		if err == nil {
			s.metrics.accepted.Add(float64(n))
			if b.overloaded {
				b.overloaded = false
				s.logger.Info("syslog writes resumed: store no longer overloaded")
			}
			break
		}
		aborted := false
		select {
		case <-s.abort:
			aborted = true
		default:
		}
		if aborted {
			s.metrics.rejected[reasonDroppedOverloaded].Add(float64(n))
			s.logger.Warn("syslog records dropped at shutdown: store did not take them in time", "records", n, "err", err)
			break
		}
		if !errors.Is(err, store.ErrOverloaded) {
			s.logger.Error("syslog records not stored", "records", n, "err", err)
			break
		}
		if !b.overloaded {
			b.overloaded = true
			s.logger.Warn("syslog store overloaded: pausing TCP reads and dropping UDP messages until it recovers", "err", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-s.abort:
			t.Stop()
		}
		backoff = min(2*backoff, maxBackoff)
	}
	clear(b.records) // release the message strings
	b.records = b.records[:0]
	b.p.reset()
}
