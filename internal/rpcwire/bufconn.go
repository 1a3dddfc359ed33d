package rpcwire

import (
	"bufio"
	"io"
	"sync"
)

// Codecs over pooled buffers. go-msgpack's RPC codec gives each connection
// a bufio.Reader and a bufio.Writer of its own unless the connection is
// buffered already, and orch opens a stream per call: at 5,000 nodes those
// two buffers were a quarter of everything a leader allocated. A BufConn
// takes its buffers from pools when a read or a write needs them and gives
// them back as soon as they are empty (Flush; Idle between messages), so a
// stream that waits (a blocking query, 5,000 of them at a time) holds none.

// Buffer sizes: a write buffer holds a whole ordinary answer, so it goes out
// in one yamux frame; reads come from yamux's own buffer.
const (
	readBufferSize  = 4 << 10
	writeBufferSize = 16 << 10
)

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufferSize) }}
)

// BufConn is conn with pooled read and write buffers, for one msgpack RPC
// codec. It is the codec's io.ByteScanner,
// flusher and buffered reader, so the codec allocates none of its own.
// Reads and writes may run in one goroutine each; Idle and Release in the
// reading one.
type BufConn struct {
	conn io.ReadWriteCloser
	r    *bufio.Reader // nil when no read is under way
	wmu  sync.Mutex
	w    *bufio.Writer // nil when nothing waits to be flushed
}

// NewBufConn wraps conn.
func NewBufConn(conn io.ReadWriteCloser) *BufConn { return &BufConn{conn: conn} }

func (c *BufConn) reader() *bufio.Reader {
	if c.r == nil {
		c.r = readers.Get().(*bufio.Reader)
		c.r.Reset(c.conn)
	}
	return c.r
}

func (c *BufConn) Read(p []byte) (int, error) { return c.reader().Read(p) }

// ReadByte and UnreadByte make BufConn an io.ByteScanner: the decoder reads
// byte by byte from the buffer instead of wrapping a reader of its own.
func (c *BufConn) ReadByte() (byte, error) { return c.reader().ReadByte() }
func (c *BufConn) UnreadByte() error       { return c.reader().UnreadByte() }

// Buffered is what the read buffer holds (0 without one).
func (c *BufConn) Buffered() int {
	if c.r == nil {
		return 0
	}
	return c.r.Buffered()
}

// Idle gives the read buffer back when it is empty. Call it between
// messages, before a wait, never while a message is half decoded.
func (c *BufConn) Idle() {
	if c.r != nil && c.r.Buffered() == 0 {
		c.r.Reset(nil)
		readers.Put(c.r)
		c.r = nil
	}
}

func (c *BufConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.w == nil {
		c.w = writers.Get().(*bufio.Writer)
		c.w.Reset(c.conn)
	}
	return c.w.Write(p)
}

// Flush writes what is buffered and gives the write buffer back.
func (c *BufConn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.w == nil {
		return nil
	}
	err := c.w.Flush()
	c.w.Reset(nil)
	writers.Put(c.w)
	c.w = nil
	return err
}

// Close closes the connection.
func (c *BufConn) Close() error { return c.conn.Close() }

// Release gives back the buffers (what they hold is dropped). Call it once
// the codec is done with the connection.
func (c *BufConn) Release() {
	if c.r != nil {
		c.r.Reset(nil)
		readers.Put(c.r)
		c.r = nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.w != nil {
		c.w.Reset(nil)
		writers.Put(c.w)
		c.w = nil
	}
}
