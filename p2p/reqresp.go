package p2p

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/multiformats/go-multistream"
	"go.uber.org/zap"
)

// Handler answers one request from peer from. A returned error is sent to the requester as text.
type Handler func(ctx context.Context, from string, req []byte) ([]byte, error)

// Handle serves the request/response protocol name with fn, replacing any earlier handler.
// Each stream carries one request (≤ MaxRequestSize) and one response (≤ MaxResponseSize) within
// 10 seconds; fn's context ends then, or when the host closes (PROTOCOL.md §10). Options limit each
// peer's requests (RateLimit, ByteRate); a peer over its limit is answered ErrRateLimited and penalised.
func (h *Host) Handle(name string, fn Handler, opts ...HandlerOption) error {
	if err := checkName(name); err != nil {
		return err
	}
	if h.isClosed() {
		return ErrClosed
	}
	lim := newLimits(opts)
	h.host.SetStreamHandler(protocolID(h.ns, name), func(s network.Stream) { h.serve(s, fn, lim) })
	return nil
}

// serve runs one exchange on an inbound stream.
func (h *Host) serve(s network.Stream, fn Handler, lim *limits) {
	if !h.enter() {
		_ = s.Reset()
		return
	}
	defer h.wg.Done()
	ctx, cancel := context.WithTimeout(h.life, streamTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	_ = s.SetDeadline(time.Now().Add(streamTimeout))

	p := s.Conn().RemotePeer()
	from := p.String()
	status, body := statusErr, []byte(nil)
	req, err := readFrame(bufio.NewReader(s), MaxRequestSize)
	switch {
	case errors.Is(err, ErrTooLarge):
		body = errorText(err)
	case err != nil:
		h.log.Debug("bad request", zap.String("peer", from), zap.String("protocol", string(s.Protocol())), zap.Error(err))
		_ = s.Reset()
		return
	case !lim.admit(p, time.Now()):
		body = errorText(fmt.Errorf("%w: %s", ErrRateLimited, s.Protocol()))
		h.penalize(p, rateLimitPoints, "over the request limit of "+string(s.Protocol()))
	default:
		h.markPosnode(p) // a well-formed request on a posnode protocol, within its limits
		status, body = h.respond(ctx, fn, from, req)
		lim.charge(p, len(body), time.Now())
	}
	if err := writeResponse(s, status, body); err != nil {
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// respond calls fn and turns its result into a response status and body.
func (h *Host) respond(ctx context.Context, fn Handler, from string, req []byte) (byte, []byte) {
	resp, err := fn(ctx, from, req)
	switch {
	case err != nil:
		return statusErr, errorText(err)
	case len(resp) > MaxResponseSize:
		h.log.Warn("handler response too large", zap.String("peer", from), zap.Int("bytes", len(resp)))
		return statusErr, errorText(fmt.Errorf("%w: response of %d bytes, limit %d", ErrTooLarge, len(resp), MaxResponseSize))
	default:
		return statusOK, resp
	}
}

// Request sends req to peer on protocol name and returns the response. A handler's error comes
// back wrapped in ErrRemote; a peer without the protocol gives ErrUnsupported. The exchange is
// bounded by ctx and by 10 seconds.
func (h *Host) Request(ctx context.Context, peerID, name string, req []byte) ([]byte, error) {
	if len(req) > MaxRequestSize {
		return nil, fmt.Errorf("%w: request of %d bytes, limit %d", ErrTooLarge, len(req), MaxRequestSize)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	if h.isClosed() {
		return nil, ErrClosed
	}
	p, err := parsePeer(peerID)
	if err != nil {
		return nil, err
	}
	if h.gater.blocked(p) {
		return nil, fmt.Errorf("%w: %s", ErrBlocked, peerID)
	}
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	resp, err := h.exchange(ctx, p, protocolID(h.ns, name), req)
	if err != nil {
		return nil, fmt.Errorf("request %s from %s: %w", name, peerID, requestError(ctx, err))
	}
	h.markPosnode(p) // it answered on a posnode protocol
	return resp, nil
}

// exchange opens a stream, writes the request and reads the response.
func (h *Host) exchange(ctx context.Context, p peer.ID, proto protocol.ID, req []byte) ([]byte, error) {
	s, err := h.host.NewStream(ctx, p, proto)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Reset() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(d)
	}
	resp, err := roundTrip(s, req)
	if err != nil {
		_ = s.Reset()
		return nil, err
	}
	_ = s.Close()
	return resp, nil
}

func roundTrip(s network.Stream, req []byte) ([]byte, error) {
	if err := writeFrame(s, req); err != nil {
		return nil, err
	}
	if err := s.CloseWrite(); err != nil {
		return nil, err
	}
	return readResponse(bufio.NewReader(s))
}

// requestError classifies a failed exchange: unsupported protocol, expired context, or as is.
func requestError(ctx context.Context, err error) error {
	var unsupported multistream.ErrNotSupported[protocol.ID]
	switch {
	case errors.As(err, &unsupported):
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	case errors.Is(err, ErrRemote):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	default:
		return err
	}
}
