package sip2

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// conn is one connection to the SIP2 server. It is used by one call at a
// time (whoever took it from the pool).
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	seq      int // the next request's AY, 0 to 9
	lastUsed time.Time
}

// dial opens a connection: TCP, TLS when configured, 93 Login when a
// user is set, and 99 SC Status, all within ConnectTimeout.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if c.tls != nil {
		tc := tls.Client(nc, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		nc = tc
	}
	cn := &conn{nc: nc, br: bufio.NewReader(nc)}
	if c.cfg.User != "" {
		body, err := c.codec.encode(loginBody(c.cfg.User, c.cfg.Password, c.cfg.Location))
		if err != nil { // New checked every field
			cn.close()
			return nil, err
		}
		resp, _, err := cn.exchange(ctx, body, "94", c.cfg.ConnectTimeout)
		if err != nil {
			cn.close()
			return nil, fmt.Errorf("login: %w", err)
		}
		ok, err := parseLogin(resp)
		if err == nil && !ok {
			err = ErrLogin
		}
		if err != nil {
			cn.close()
			return nil, err
		}
	}
	resp, _, err := cn.exchange(ctx, []byte(scStatusBody()), "98", c.cfg.ConnectTimeout)
	if err == nil {
		_, err = parseACSStatus(resp)
	}
	if err != nil {
		cn.close()
		return nil, fmt.Errorf("sc status: %w", err)
	}
	return cn, nil
}

func (cn *conn) close() { cn.nc.Close() }

// longAgo is a deadline in the past, which wakes a blocked read or write.
var longAgo = time.Unix(1, 0)

// exchange sends body with error detection and reads the answer, which
// must be want with the request's sequence number. It waits at most
// timeout, and no longer than ctx allows: ctx's end wakes a blocked read.
// stale reports that the server had closed the connection before
// answering anything (an idle connection it dropped), which is worth one
// retry on a new connection. After any error the connection is unusable.
func (cn *conn) exchange(ctx context.Context, body []byte, want string, timeout time.Duration) (resp []byte, stale bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	// Anything already read but not asked for (save the LF of a server
	// that ends its messages with CR LF) would be taken for this answer.
	for cn.br.Buffered() > 0 {
		if next, _ := cn.br.Peek(1); next[0] != '\n' {
			return nil, true, protocolError("unasked-for data on the connection")
		}
		cn.br.ReadByte()
	}
	seq := cn.seq
	cn.seq = (cn.seq + 1) % 10
	msg := appendErrorDetection(append([]byte(nil), body...), seq)

	deadline, ctxBound := time.Now().Add(timeout), false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxBound = d, true
	}
	if err := cn.nc.SetDeadline(deadline); err != nil {
		return nil, false, err
	}
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(longAgo) })
	raw, started, ioErr := cn.roundTrip(msg)
	if !stop() || ioErr != nil && ctx.Err() != nil {
		// ctx ended during the exchange: its error says why.
		return nil, false, ctx.Err()
	}
	if ioErr != nil && ctxBound && errors.Is(ioErr, os.ErrDeadlineExceeded) {
		// ctx's deadline, set on the connection, came first.
		return nil, false, context.DeadlineExceeded
	}
	if ioErr != nil {
		return nil, !started && isClosedByPeer(ioErr), ioErr
	}
	resp, err = checkResponse(raw, want, seq)
	return resp, false, err
}

// roundTrip writes msg and reads one CR-terminated message. started says
// whether any byte of the answer arrived.
func (cn *conn) roundTrip(msg []byte) (raw []byte, started bool, err error) {
	if _, err := cn.nc.Write(msg); err != nil {
		return nil, false, fmt.Errorf("write: %w", err)
	}
	// A server that ends its messages with CR LF leaves the LF before
	// the next answer.
	for {
		b, err := cn.br.ReadByte()
		if err != nil {
			return nil, false, fmt.Errorf("read: %w", err)
		}
		if b != '\n' {
			cn.br.UnreadByte()
			break
		}
	}
	for {
		chunk, err := cn.br.ReadSlice('\r')
		if len(raw)+len(chunk) > maxMessage {
			return nil, true, protocolError("no CR within %d bytes", maxMessage)
		}
		raw = append(raw, chunk...)
		switch {
		case err == nil:
			return raw[:len(raw)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, true, fmt.Errorf("read: %w", err)
		}
	}
}

// isClosedByPeer is an EOF, reset or broken pipe: the server closed the
// connection, as opposed to a timeout or a garbled answer.
func isClosedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}
