package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/client"
	"github.com/posnode/posnode/light"
	"github.com/posnode/posnode/node/prompt"
)

const clientAbout = "Runs the light client (PROTOCOL.md §14) with the user's own key: it signs the user's transactions,\n" +
	"sends them to full nodes over libp2p, and proves each committed and then final, following finality from\n" +
	"genesis or --checkpoint without trusting the nodes. Without a command it opens a prompt: a line \"72\" or\n" +
	"\"bpm 72\" records a heart rate; \"send ADDR N\", \"stake N\", \"unstake N\", \"status\", \"history\", \"quit\"."

// clientCommands are the one-shot commands of posnode client, by name.
var clientCommands = map[string]struct {
	synopsis string
	run      func(ctx context.Context, s *session, o *clientOpts, args []string) error
}{
	"bpm": {"client bpm [flags] BPM", func(ctx context.Context, s *session, o *clientOpts, a []string) error {
		return oneShot(ctx, s, o, "bpm", a)
	}},
	"send": {"client send [flags] ADDRESS AMOUNT", func(ctx context.Context, s *session, o *clientOpts, a []string) error {
		return oneShot(ctx, s, o, "send", a)
	}},
	"stake": {"client stake [flags] AMOUNT", func(ctx context.Context, s *session, o *clientOpts, a []string) error {
		return oneShot(ctx, s, o, "stake", a)
	}},
	"unstake": {"client unstake [flags] AMOUNT", func(ctx context.Context, s *session, o *clientOpts, a []string) error {
		return oneShot(ctx, s, o, "unstake", a)
	}},
	"status":  {"client status [flags]", func(ctx context.Context, s *session, _ *clientOpts, _ []string) error { return status(ctx, s) }},
	"history": {"client history [flags]", func(ctx context.Context, s *session, _ *clientOpts, _ []string) error { return history(ctx, s) }},
}

// runClient runs the prompt (name "") or one command of posnode client.
func runClient(name string, args []string, w io.Writer) error {
	synopsis := "client [flags]"
	if c, ok := clientCommands[name]; ok {
		synopsis = c.synopsis
	}
	o, pos, err := parseClient("client "+name, synopsis, clientAbout, args)
	if err != nil {
		return err
	}
	if name == "" && len(pos) > 0 {
		return fmt.Errorf("unknown command %q\n\n%s", pos[0], clientUsage)
	}
	if want := commandArgs(name); name != "" && len(pos) != want {
		return fmt.Errorf("%s takes %d argument(s), got %d\nusage: posnode %s", name, want, len(pos), synopsis)
	}
	ctx, cancel := withSignals()
	defer cancel()
	s, err := openSession(ctx, o, w)
	if err != nil {
		return err
	}
	defer s.host.Close()
	s.follow(ctx)
	if name == "" {
		con, err := prompt.NewConsole(os.Stdin, os.Stdout)
		if err != nil {
			return err
		}
		defer con.Close()
		con.SetPrompt("BPM> ")
		s.out.setWriter(con)
		return clientPrompt(ctx, s, con)
	}
	return clientCommands[name].run(ctx, s, o, pos)
}

// oneShot submits one transaction from a command's arguments and waits for it to be final.
func oneShot(ctx context.Context, s *session, o *clientOpts, cmd string, args []string) error {
	r, err := submitLine(ctx, s, append([]string{cmd}, args...))
	if err != nil || o.wait == 0 {
		return err
	}
	return s.waitFinal(ctx, r.ID, o.wait)
}

// commandArgs is the number of arguments a command takes: send ADDRESS AMOUNT, bpm, stake and unstake one, the
// others none.
func commandArgs(cmd string) int {
	switch cmd {
	case "send":
		return 2
	case "bpm", "stake", "unstake":
		return 1
	}
	return 0
}

// submitLine signs and sends what a line or a command asks: bpm N, send ADDR N, stake N, unstake N.
func submitLine(ctx context.Context, s *session, f []string) (client.Record, error) {
	kinds := map[string]chain.TxKind{"bpm": chain.TxBPM, "send": chain.TxTransfer, "stake": chain.TxStake, "unstake": chain.TxUnstake}
	kind, ok := kinds[f[0]]
	want := 2
	if kind == chain.TxTransfer {
		want = 3
	}
	if !ok || len(f) != want {
		return client.Record{}, fmt.Errorf("usage: bpm N | send ADDRESS AMOUNT | stake AMOUNT | unstake AMOUNT")
	}
	var to chain.Address
	if kind == chain.TxTransfer {
		var err error
		if to, err = chain.ParseAddress(f[1]); err != nil {
			return client.Record{}, fmt.Errorf("address %q: %w", f[1], err)
		}
	}
	v, err := strconv.ParseUint(f[want-1], 10, 64)
	if err != nil {
		return client.Record{}, fmt.Errorf("%q is not a whole number", f[want-1])
	}
	r, err := s.cl.Submit(ctx, kind, to, v)
	if err != nil {
		return r, err
	}
	s.out.emit(map[string]any{"event": "submitted", "id": r.ID, "kind": r.Kind, "value": r.Value, "nonce": r.Nonce},
		"submitted %s (%s %d, nonce %d)", r.ID, r.Kind, r.Value, r.Nonce)
	return r, nil
}

// status prints the trusted checkpoints, the account in the finalized state and the pending records.
func status(ctx context.Context, s *session) error {
	acc, at, err := s.cl.Account(ctx)
	if err != nil {
		return err
	}
	tr := s.cl.Trust()
	pending, _ := s.cl.Records()
	s.out.emit(map[string]any{"address": s.cl.Address(), "justified": tr.Justified.Checkpoint, "finalized": tr.Finalized.Checkpoint,
		"finalized_height": at.Height, "account": acc, "pending": pending},
		"address    %s\njustified  %s\nfinalized  %s (height %d)\nbalance    %d  stake %d  nonce %d (in the finalized state, proven)\npending    %d records",
		s.cl.Address(), tr.Justified.Checkpoint, tr.Finalized.Checkpoint, at.Height, acc.Balance, acc.Stake, acc.Nonce, len(pending))
	return nil
}

// maxHistoryPages bounds the pages of records history asks for: 16 × light.MaxRecords records.
const maxHistoryPages = 16

// history prints the account's BPM records on the chain, oldest first, fetched from full nodes by light-records
// and each checked (client.VerifyRecords, PROTOCOL.md §14): signed by the account's key and proven in its block.
func history(ctx context.Context, s *session) error {
	var all []client.HistoryRecord
	var before chain.Height
	var below chain.Nonce
	for range maxHistoryPages {
		recs, next, err := s.cl.History(ctx, before, below, light.MaxRecords)
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			below = recs[len(recs)-1].Nonce
		}
		all = append(all, recs...)
		if before = next; next == 0 {
			break
		}
	}
	if before != 0 {
		s.out.note("only the newest %d records shown: older ones lie below height %d", len(all), before)
	}
	for i := len(all) - 1; i >= 0; i-- {
		r := all[i]
		st := "not final yet"
		if r.Final {
			st = "final"
		}
		s.out.emit(r, "%s  height %-8d bpm %-4d %s  %s", r.Time.Format(time.RFC3339), r.Height, r.BPM, r.ID.Short(), st)
	}
	return nil
}

// lineReader is the prompt's input: a prompt.Console, whose errors it reports.
type lineReader interface {
	ReadLine() (string, error)
}

// clientPrompt reads lines until the input ends, quit, Ctrl-D or Ctrl-C on a terminal, or ctx ends (Ctrl-C
// otherwise), following finality every slot meanwhile.
func clientPrompt(ctx context.Context, s *session, in lineReader) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { s.followEverySlot(ctx) })
	s.out.note("address %s; type a BPM (\"72\"), \"help\" or \"quit\" (Ctrl-D too)", s.cl.Address())
	lines := make(chan readLine)
	go readLines(ctx, in, lines) // ends with the input or ctx; a read under way then is left to the process's exit
	for {
		var l readLine
		select {
		case <-ctx.Done():
			return nil
		case l = <-lines:
		}
		switch {
		case l.err == nil:
			if promptLine(ctx, s, strings.Fields(l.text)) {
				return nil
			}
		case errors.Is(l.err, prompt.ErrLineTooLong), errors.Is(l.err, prompt.ErrNotText):
			s.out.note("error: line ignored: %v", l.err)
		case errors.Is(l.err, io.EOF), errors.Is(l.err, prompt.ErrCtrlD), errors.Is(l.err, prompt.ErrInterrupted):
			return nil
		default:
			return l.err
		}
	}
}

type readLine struct {
	text string
	err  error
}

// readLines sends each line of in, and the error that ends it, to out, until ctx ends.
func readLines(ctx context.Context, in lineReader, out chan<- readLine) {
	for {
		text, err := in.ReadLine()
		select {
		case out <- readLine{text, err}:
		case <-ctx.Done():
			return
		}
		if err != nil && !errors.Is(err, prompt.ErrLineTooLong) && !errors.Is(err, prompt.ErrNotText) {
			return
		}
	}
}

// followEverySlot follows finality and tracks records once a slot until ctx ends.
func (s *session) followEverySlot(ctx context.Context) {
	tick := time.NewTicker(time.Duration(s.g.SlotDuration))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.follow(ctx)
		}
	}
}

// promptLine runs one line of the prompt; it reports whether the user asked to quit.
func promptLine(ctx context.Context, s *session, f []string) bool {
	if len(f) == 0 {
		return false
	}
	if _, err := strconv.ParseUint(f[0], 10, 64); err == nil && len(f) == 1 {
		f = []string{"bpm", f[0]}
	}
	var err error
	switch f[0] {
	case "quit", "exit":
		return true
	case "help":
		s.out.note("%s", clientAbout)
	case "status":
		err = status(ctx, s)
	case "history":
		err = history(ctx, s)
	default:
		_, err = submitLine(ctx, s, f)
	}
	if err != nil {
		s.out.note("error: %v", err)
	}
	return false
}
