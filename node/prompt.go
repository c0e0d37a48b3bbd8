package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posnode/posnode/chain"
)

const promptHelp = `commands:
  <number> | bpm <number>   record a heart rate (1-300) on the chain
  stake <n>                 bond n tokens from your balance (counts from two epochs on)
  unstake <n>               release n staked tokens back to your balance
  send <address> <n>        transfer n tokens
  balance [address]         balance, stake and nonce (yours by default)
  status                    head, slot, peers, sync state
  validators                the stake table in force now
  peers                     connected peers
  chain [n]                 the last n blocks (default 10)
  connect <multiaddr>       dial a peer
  help                      this text
  quit                      stop the node`

// prompt is the interactive console on the node's stdin. It never crashes on input and never stops the node
// except on "quit"; at end of input it goes quiet and the node keeps running.
type prompt struct {
	n    *Node
	out  io.Writer
	mu   sync.Mutex // serialises writes from the reader and the announcer
	quit context.CancelFunc
}

func (p *prompt) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format, args...)
}

// runPrompt reads commands until quit or end of input; announcements are printed as they come.
func (n *Node) runPrompt(ctx context.Context, quit context.CancelFunc) {
	p := &prompt{n: n, out: n.cfg.Out, quit: quit}
	lines := make(chan string)
	go readLines(ctx, n.cfg.Prompt, lines) // exits at end of input or when the prompt stops listening
	p.printf("posnode %s — type help for commands\n", n.self)
	if !p.askStake(ctx, lines) {
		return
	}
	p.printf("> ")
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-n.events:
			p.printf("\r%s\n> ", ev)
		case line, ok := <-lines:
			if !ok {
				return
			}
			if !p.exec(ctx, line) {
				return
			}
			p.printf("> ")
		}
	}
}

// readLines feeds lines to the prompt. A read blocked on a terminal cannot be interrupted, so this goroutine may
// outlive the node by one line; it owns nothing.
func readLines(ctx context.Context, r io.Reader, out chan<- string) {
	defer close(out)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		select {
		case out <- sc.Text():
		case <-ctx.Done():
			return
		}
	}
}

// askStake is the original tutorial's "Enter token balance:", made real: a node holding unstaked tokens is asked
// how many of them to bond. Anything but a number skips the question and runs as a command, so a user who never
// saw the question (attached later) is not trapped in it.
func (p *prompt) askStake(ctx context.Context, lines <-chan string) bool {
	acct, err := p.n.Account(ctx, p.n.self)
	if err != nil || acct.Balance <= uint64(p.n.cfg.Genesis.TxFee) {
		return true
	}
	p.printf("You hold %d unstaked tokens (staked: %d). Enter tokens to stake [0]: ", acct.Balance, acct.Stake)
	for {
		select {
		case <-ctx.Done():
			return false
		case line, ok := <-lines:
			if !ok {
				return false
			}
			line = strings.TrimSpace(line)
			switch {
			case line == "" || line == "0":
				p.printf("not staking now; 'stake N' does it later\n")
			case !isNumber(line):
				p.printf("(stake question skipped; 'stake N' does it later)\n")
				return p.exec(ctx, line)
			default:
				if err := p.stake(ctx, "stake", line); err != nil {
					p.printf("error: %v\nEnter tokens to stake [0]: ", err)
					continue
				}
			}
			return true
		}
	}
}

// exec runs one command line; it returns false on quit.
func (p *prompt) exec(ctx context.Context, line string) bool {
	f := strings.Fields(line)
	if len(f) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var err error
	switch cmd, args := strings.ToLower(f[0]), f[1:]; {
	case cmd == "quit" || cmd == "exit":
		p.printf("stopping\n")
		p.quit()
		return false
	case cmd == "help" || cmd == "?":
		p.printf("%s\n", promptHelp)
	case isNumber(cmd) && len(args) == 0:
		err = p.bpm(ctx, cmd)
	case cmd == "bpm" && len(args) == 1:
		err = p.bpm(ctx, args[0])
	case (cmd == "stake" || cmd == "unstake") && len(args) == 1:
		err = p.stake(ctx, cmd, args[0])
	case cmd == "send" && len(args) == 2:
		err = p.send(ctx, args[0], args[1])
	case cmd == "balance" && len(args) <= 1:
		err = p.balance(ctx, args)
	case cmd == "status" && len(args) == 0:
		err = p.status(ctx)
	case cmd == "validators" && len(args) == 0:
		err = p.validators(ctx)
	case cmd == "peers" && len(args) == 0:
		p.peers()
	case cmd == "chain" && len(args) <= 1:
		err = p.chain(ctx, args)
	case cmd == "connect" && len(args) == 1:
		if err = p.n.Connect(ctx, args[0]); err == nil {
			p.printf("connected\n")
		}
	default:
		err = fmt.Errorf("unknown command %q (type help)", line)
	}
	if err != nil {
		p.printf("error: %v\n", err)
	}
	return true
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

func parseAmount(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return v, nil
}

func (p *prompt) bpm(ctx context.Context, arg string) error {
	v, err := parseAmount(arg)
	if err != nil {
		return err
	}
	id, err := p.n.SubmitOwn(ctx, chain.TxBPM, chain.Address{}, v)
	if err == nil {
		p.printf("bpm %d submitted: tx %s\n", v, id.Short())
	}
	return err
}

func (p *prompt) stake(ctx context.Context, cmd, arg string) error {
	v, err := parseAmount(arg)
	if err != nil {
		return err
	}
	kind := chain.TxStake
	if cmd == "unstake" {
		kind = chain.TxUnstake
	}
	id, err := p.n.SubmitOwn(ctx, kind, chain.Address{}, v)
	if err == nil {
		p.printf("%s %d submitted: tx %s (the stake table changes two epochs after it is committed)\n", cmd, v, id.Short())
	}
	return err
}

func (p *prompt) send(ctx context.Context, to, amount string) error {
	addr, err := chain.ParseAddress(to)
	if err != nil {
		return err
	}
	v, err := parseAmount(amount)
	if err != nil {
		return err
	}
	id, err := p.n.SubmitOwn(ctx, chain.TxTransfer, addr, v)
	if err == nil {
		p.printf("sent %d to %s: tx %s\n", v, addr.Short(), id.Short())
	}
	return err
}

func (p *prompt) balance(ctx context.Context, args []string) error {
	addr := p.n.self
	if len(args) == 1 {
		var err error
		if addr, err = chain.ParseAddress(args[0]); err != nil {
			return err
		}
	}
	a, err := p.n.Account(ctx, addr)
	if err == nil {
		p.printf("%s balance %d stake %d nonce %d pending %d\n", addr, a.Balance, a.Stake, a.Nonce, a.Pending)
	}
	return err
}

func (p *prompt) status(ctx context.Context) error {
	s, err := p.n.Status(ctx)
	if err == nil {
		p.printf("height %d head %s (slot %d) | slot %d epoch %d | peers %d | synced %v | mempool %d | balance %d stake %d\n",
			s.Height, s.Head.Short(), s.HeadSlot, s.Slot, s.Epoch, s.Peers, s.Synced, s.Mempool, s.Balance, s.Stake)
		if s.Signing != "active" {
			p.printf("signing: %s\n", s.Signing)
		}
	}
	return err
}

func (p *prompt) validators(ctx context.Context) error {
	epoch, vals, err := p.n.Validators(ctx)
	if err != nil {
		return err
	}
	p.printf("epoch %d, %d validator(s):\n", epoch, len(vals))
	for _, v := range vals {
		me := ""
		if v.Address == p.n.self {
			me = "  (you)"
		}
		p.printf("  %s  stake %d  %s%s\n", v.Address, v.Stake, v.Share, me)
	}
	return nil
}

func (p *prompt) peers() {
	peers := p.n.Peers()
	p.printf("%d peer(s)\n", len(peers))
	for _, pe := range peers {
		p.printf("  %s  %s  %s\n", pe.ID, pe.Addr, pe.Direction)
	}
}

func (p *prompt) chain(ctx context.Context, args []string) error {
	count := uint64(10)
	if len(args) == 1 {
		v, err := parseAmount(args[0])
		if err != nil || v == 0 || v > maxRangeBlocks {
			return fmt.Errorf("chain takes a count from 1 to %d", maxRangeBlocks)
		}
		count = v
	}
	s, err := p.n.Status(ctx)
	if err != nil {
		return err
	}
	if s.Height == 0 {
		p.printf("no blocks yet (genesis %s)\n", s.ChainID.Short())
		return nil
	}
	from := max(s.Height+1, count+1) - count
	bs, err := p.n.Blocks(ctx, from, s.Height)
	for _, b := range bs {
		bpms := []string{}
		for _, tx := range b.Txs {
			if tx.Kind == chain.TxBPM.String() {
				bpms = append(bpms, strconv.FormatUint(tx.Value, 10))
			}
		}
		p.printf("  #%d slot %d %s by %s, %d txs, bpm [%s]\n", b.Height, b.Slot, b.Hash.Short(), b.Proposer.Short(),
			len(b.Txs), strings.Join(bpms, " "))
	}
	if errors.Is(err, ErrStopped) {
		return nil
	}
	return err
}
