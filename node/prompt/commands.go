package prompt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/node/view"
)

// Command errors, printed with the range or usage that was missed.
var (
	// ErrOutOfRange: a number is not a whole number in the range the command takes.
	ErrOutOfRange = errors.New("out of range")
	// ErrNotNumber: a word where the command takes a number.
	ErrNotNumber = errors.New("not a number")
	// ErrUsage: a known command with too few or too many arguments.
	ErrUsage = errors.New("usage")
	// ErrUnknownCommand: the first word names no command.
	ErrUnknownCommand = errors.New("unknown command")
)

// maxChain is the most blocks `chain N` shows (one range query of the node).
const maxChain = 256

// commandTimeout bounds one command's wait for the node.
const commandTimeout = 10 * time.Second

type command struct {
	name, args, about string
	min, max          int // arguments
	run               func(p *prompt, ctx context.Context, args []string) error
}

var commands = []command{
	{"bpm", "<1-300>", "record a heart rate on the chain (or type just the number)", 1, 1, (*prompt).bpm},
	{"stake", "<amount>", "bond tokens from your balance (counts from three epochs on)", 1, 1, (*prompt).stake},
	{"unstake", "<amount>", "unbond staked tokens: they return to your balance after 256 epochs", 1, 1, (*prompt).unstake},
	{"send", "<address> <amount>", "transfer tokens", 2, 2, (*prompt).send},
	{"balance", "[address]", "balance, stake and nonce (yours by default)", 0, 1, (*prompt).balance},
	{"status", "", "head, slot, finality, peers, sync state", 0, 0, (*prompt).status},
	{"validators", "", "the stake table in force now", 0, 0, (*prompt).validators},
	{"peers", "", "connected peers", 0, 0, (*prompt).peers},
	{"chain", "[count]", "the last blocks (default 10, at most 256)", 0, 1, (*prompt).chain},
	{"connect", "<multiaddr>", "dial a peer", 1, 1, (*prompt).connect},
	{"help", "", "this text", 0, 0, nil},
	{"quit", "", "stop the node", 0, 0, nil},
}

func lookup(name string) (command, bool) {
	switch name {
	case "exit":
		name = "quit"
	case "?":
		name = "help"
	}
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func (c command) usage() string { return strings.TrimSpace(c.name + " " + c.args) }

// exec runs one command line; it returns false on quit.
func (p *prompt) exec(ctx context.Context, line string) bool {
	f := strings.Fields(line)
	if len(f) == 0 {
		return true
	}
	name, args := strings.ToLower(f[0]), f[1:]
	if looksNumeric(name) { // a bare number is a heart rate
		name, args = "bpm", f
	}
	c, ok := lookup(name)
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("%w %q (type help)", ErrUnknownCommand, f[0])
	case len(args) < c.min || len(args) > c.max:
		err = fmt.Errorf("%w: %s", ErrUsage, c.usage())
	case c.name == "help":
		p.help()
	case c.name == "quit":
		p.printf("stopping\n")
		p.Quit()
		return false
	default:
		cctx, cancel := context.WithTimeout(ctx, commandTimeout)
		err = c.run(p, cctx, args)
		cancel()
	}
	switch {
	case errors.Is(err, ErrUsage):
		p.printf("%v\n", err)
	case err != nil:
		p.printf("error: %v\n", err)
	}
	return true
}

// looksNumeric reports whether a word is meant as a number: a digit, or a sign or point and a digit.
func looksNumeric(s string) bool {
	s = strings.TrimLeft(s, "+-.")
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

// parseRange parses a whole number from lo to hi; what names it in the error, which is ErrNotNumber for a word
// that is no number at all and ErrOutOfRange for a number that is not one of those.
func parseRange(what, s string, lo, hi uint64) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err == nil && v >= lo && v <= hi {
		return v, nil
	}
	kind := ErrOutOfRange
	if !isNumber(s) {
		kind = ErrNotNumber
	}
	return 0, fmt.Errorf("%w: %s is a whole number from %d to %d, got %q", kind, what, lo, hi, s)
}

// decimal is a decimal number, whole or not, of any size: "-5", "72.5", "1e400"; not "abc", "inf" or "0x10".
var decimal = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

func isNumber(s string) bool { return decimal.MatchString(s) }

func parseAmount(s string) (uint64, error) { return parseRange("an amount", s, 1, math.MaxUint64) }

func (p *prompt) bpm(ctx context.Context, args []string) error {
	v, err := parseRange("bpm", args[0], chain.MinBPM, chain.MaxBPM)
	if err != nil {
		return err
	}
	id, err := p.Backend.SubmitOwn(ctx, chain.TxBPM, chain.Address{}, v)
	if err == nil {
		p.printf("bpm %d submitted: tx %s\n", v, id.Short())
	}
	return err
}

func (p *prompt) stake(ctx context.Context, args []string) error {
	return p.bond(ctx, chain.TxStake, args[0])
}

func (p *prompt) unstake(ctx context.Context, args []string) error {
	return p.bond(ctx, chain.TxUnstake, args[0])
}

func (p *prompt) bond(ctx context.Context, kind chain.TxKind, arg string) error {
	v, err := parseAmount(arg)
	if err != nil {
		return err
	}
	id, err := p.Backend.SubmitOwn(ctx, kind, chain.Address{}, v)
	if err == nil {
		p.printf("%s %d submitted: tx %s (it counts in the stake table three epochs after it is committed; told here then)\n", kind, v, id.Short())
	}
	return err
}

func (p *prompt) send(ctx context.Context, args []string) error {
	addr, err := chain.ParseAddress(args[0])
	if err != nil {
		return err
	}
	v, err := parseAmount(args[1])
	if err != nil {
		return err
	}
	id, err := p.Backend.SubmitOwn(ctx, chain.TxTransfer, addr, v)
	if err == nil {
		p.printf("sent %d to %s: tx %s\n", v, addr.Short(), id.Short())
	}
	return err
}

func (p *prompt) balance(ctx context.Context, args []string) error {
	addr := p.self
	if len(args) == 1 {
		var err error
		if addr, err = chain.ParseAddress(args[0]); err != nil {
			return err
		}
	}
	a, err := p.Backend.Account(ctx, addr)
	if err == nil {
		p.printf("%s balance %d stake %d nonce %d pending %d\n", addr, a.Balance, a.Stake, a.Nonce, a.Pending)
	}
	return err
}

func (p *prompt) status(ctx context.Context, _ []string) error {
	s, err := p.Backend.Status(ctx)
	if err == nil {
		p.printf("height %d head %s (slot %d) | slot %d epoch %d | justified %s finalized %s | peers %d | synced %v | mempool %d | balance %d stake %d\n",
			s.Height, s.Head.Short(), s.HeadSlot, s.Slot, s.Epoch, s.Justified, s.Finalized, s.Peers, s.Synced, s.Mempool,
			s.Balance, s.Stake)
		if s.Reachability == "private" || s.RelayService {
			p.printf("reachability %s | relay reservations %d | relay service %v\n", s.Reachability, s.RelayReservations,
				s.RelayService)
		}
		if s.Signing != "" && s.Signing != "active" {
			p.printf("signing: %s\n", s.Signing)
		}
	}
	return err
}

func (p *prompt) validators(ctx context.Context, _ []string) error {
	epoch, vals, err := p.Backend.Validators(ctx)
	if err != nil {
		return err
	}
	p.printf("epoch %d, %d validator(s):\n", epoch, len(vals))
	for _, v := range vals {
		me := ""
		if v.Address == p.self {
			me = "  (you)"
		}
		p.printf("  %s  stake %d  %.2f%%%s\n", v.Address, v.Stake, 100*v.Share, me)
	}
	return nil
}

func (p *prompt) peers(context.Context, []string) error {
	peers := p.Backend.Peers()
	p.printf("%d peer(s)\n", len(peers))
	for _, pe := range peers {
		p.printf("  %s  %s  %s\n", pe.ID, pe.Addr, pe.Direction)
	}
	return nil
}

func (p *prompt) chain(ctx context.Context, args []string) error {
	count := uint64(10)
	if len(args) == 1 {
		var err error
		if count, err = parseRange("the count", args[0], 1, maxChain); err != nil {
			return err
		}
	}
	s, err := p.Backend.Status(ctx)
	if err != nil {
		return err
	}
	if s.Height == 0 {
		p.printf("no blocks yet (genesis %s, chain %s)\n", s.GenesisHash.Short(), s.ChainID)
		return nil
	}
	from := max(s.Height+1, count+1) - count
	bs, err := p.Backend.Blocks(ctx, from, s.Height)
	for _, b := range bs {
		var bpms []string
		for _, tx := range b.Txs {
			if tx.Kind == chain.TxBPM.String() {
				bpms = append(bpms, strconv.FormatUint(tx.Value, 10))
			}
		}
		p.printf("  #%d slot %d %s by %s, %d txs, bpm [%s]\n", b.Height, b.Slot, b.Hash.Short(), b.Proposer.Short(),
			len(b.Txs), strings.Join(bpms, " "))
	}
	if errors.Is(err, view.ErrStopped) {
		return nil
	}
	return err
}

func (p *prompt) connect(ctx context.Context, args []string) error {
	err := p.Backend.Connect(ctx, args[0])
	if err == nil {
		p.printf("connected to %s\n", args[0])
	}
	return err
}

func (p *prompt) help() {
	var b strings.Builder
	b.WriteString("commands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-28s %s\n", c.usage(), c.about)
	}
	b.WriteString("  a bare number, e.g. 72, is `bpm 72`\n")
	p.printf("%s", b.String())
}
