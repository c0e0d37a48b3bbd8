// Package prompt is the node's interactive console: a line of commands on the node's stdin, announcements of new
// blocks above it. It talks to the node through Backend, which *node.Node implements, and never stops the node
// except on quit (or Ctrl-C on a terminal). It asks no questions: what a user types is always a command.
package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// Backend is what the prompt asks of the node.
type Backend interface {
	// Address is the node's own account.
	Address() chain.Address
	Status(ctx context.Context) (view.Status, error)
	// Blocks returns the canonical blocks from..to, inclusive.
	Blocks(ctx context.Context, from, to uint64) ([]view.Block, error)
	Account(ctx context.Context, addr chain.Address) (view.Account, error)
	Validators(ctx context.Context) (epoch uint64, vals []view.Validator, err error)
	Peers() []view.Peer
	// SubmitOwn signs a transaction of the node's account and submits it.
	SubmitOwn(ctx context.Context, kind chain.TxKind, to chain.Address, value uint64) (chain.Hash, error)
	// Connect dials a peer's multiaddr.
	Connect(ctx context.Context, addr string) error
}

// Config is what Run needs.
type Config struct {
	Console *Console
	Backend Backend
	Events  <-chan string // announcements, one line each
	Quit    func()        // stops the node
}

type prompt struct {
	Config
	self chain.Address
}

type input struct {
	line string
	err  error
}

// Run reads and runs commands until ctx is done, quit, or the end of input. Announcements are printed as they
// come. A read blocked on a terminal cannot be interrupted, so the goroutine that reads may outlive Run by one
// line; it owns nothing.
func Run(ctx context.Context, cfg Config) {
	p := &prompt{Config: cfg, self: cfg.Backend.Address()}
	lines := make(chan input)
	go readInput(ctx, cfg.Console, lines)
	p.greet(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-p.Events:
			p.printf("%s\n", ev)
		case in, ok := <-lines:
			if !ok || !p.handle(ctx, in) {
				return
			}
		}
	}
}

// readInput feeds lines to the prompt; it stops after the end of input or an interrupt.
func readInput(ctx context.Context, c *Console, out chan<- input) {
	defer close(out)
	for {
		line, err := c.ReadLine()
		select {
		case out <- input{line, err}:
		case <-ctx.Done():
			return
		}
		if err != nil && !errors.Is(err, ErrLineTooLong) && !errors.Is(err, ErrNotText) && !errors.Is(err, ErrCtrlD) {
			return
		}
	}
}

func (p *prompt) printf(format string, args ...any) { fmt.Fprintf(p.Console, format, args...) }

// greet says who the node is and, instead of asking a question, how to stake the tokens it holds.
func (p *prompt) greet(ctx context.Context) {
	p.printf("posnode %s — type help for commands\n", p.self)
	st, err := p.Backend.Status(ctx)
	if err != nil || st.Balance <= st.TxFee {
		return
	}
	p.printf("you hold %d unstaked tokens (staked: %d); `stake N` bonds N of them (up to %d)\n",
		st.Balance, st.Stake, st.Balance-st.TxFee)
}

// handle runs one line or reports why it cannot; it returns false when the prompt stops.
func (p *prompt) handle(ctx context.Context, in input) bool {
	switch {
	case in.err == nil:
		return p.exec(ctx, in.line)
	case errors.Is(in.err, ErrLineTooLong):
		p.printf("error: line ignored: longer than %d bytes\n", MaxLine)
	case errors.Is(in.err, ErrNotText):
		p.printf("error: line ignored: it holds control characters or bytes that are not UTF-8 text\n")
	case errors.Is(in.err, ErrCtrlD):
		p.printf("(Ctrl-D ignored: the prompt keeps reading; quit stops the node, Ctrl-P Ctrl-Q detaches from docker)\n")
	case errors.Is(in.err, ErrInterrupted):
		p.printf("interrupted: stopping\n")
		p.Quit()
		return false
	case errors.Is(in.err, io.EOF):
		p.printf("end of input: the prompt stopped reading; the node runs on. To get a prompt back, restart the node " +
			"with stdin on a terminal (docker: stdin_open and tty, then docker attach)\n")
		return false
	default:
		p.printf("error: reading input: %v; the prompt stopped reading, the node runs on\n", in.err)
		return false
	}
	return true
}
