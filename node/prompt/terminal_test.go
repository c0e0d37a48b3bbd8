package prompt

import (
	"strings"
	"testing"
)

// On a terminal: an announcement goes above the half-typed line, which is drawn again after it; Ctrl-D, a long
// line and control keys are answered and the prompt goes on; Ctrl-C stops the node.
func TestPromptTerminal(t *testing.T) {
	s := startSession(t, true)
	at := s.out.expect(t, 0, "`stake N` bonds N of them")
	s.say("sta")
	at = s.out.expect(t, at, "sta")
	s.events <- "slot 9: you won -> block #8 abcd1234 (1 txs)"
	at = s.out.expect(t, at, "slot 9: you won -> block #8 abcd1234 (1 txs)\r\n")
	at = s.out.expect(t, at, "> sta") // the typed line, drawn again below the announcement
	s.say("tus\r")
	at = s.out.expect(t, at, "height 7")

	s.say("\x04") // Ctrl-D on an empty line
	at = s.out.expect(t, at, "(Ctrl-D ignored: the prompt keeps reading")
	s.say("status\r")
	at = s.out.expect(t, at, "height 7")

	s.say(strings.Repeat("a", MaxLine+10) + "\r")
	at = s.out.expect(t, at, "error: line ignored: longer than 4096 bytes")
	s.say("\x07 72\r")
	at = s.out.expect(t, at, "error: line ignored: it holds control characters")
	s.say("72\r")
	at = s.out.expect(t, at, "bpm 72 submitted")
	if got, want := s.node.submissions(), []string{"bpm 72"}; !equal(got, want) {
		t.Errorf("submitted %v, want %v", got, want)
	}

	s.say("stat\x03") // Ctrl-C: raw mode sends no signal, so the prompt stops the node
	s.out.expect(t, at, "interrupted: stopping")
	<-s.quit
}

// Bracketed pastes on a terminal: pasted lines run one by one, markers split across reads are still markers, a
// pasted Ctrl-C is refused as not text instead of stopping the node, and a pasted line too long is refused at
// once without waiting for its end, the rest of it dropped.
func TestPromptTerminalPaste(t *testing.T) {
	s := startSession(t, true)
	at := s.out.expect(t, 0, "`stake N` bonds N of them")
	s.say("\x1b[200~status\r\n72\n\x1b[201~")
	at = s.out.expect(t, at, "height 7")
	at = s.out.expect(t, at, "bpm 72 submitted")

	s.say("\x1b[20")
	s.say("0~stat\x03us\r\x1b[2")
	s.say("01~")
	at = s.out.expect(t, at, "error: line ignored: it holds control characters")
	s.say("status\r")
	at = s.out.expect(t, at, "height 7")

	s.say("\x1b[200~" + strings.Repeat("b", MaxLine+1)) // the paste has not ended yet
	at = s.out.expect(t, at, "error: line ignored: longer than 4096 bytes")
	s.say(strings.Repeat("b", 3000) + "\n73\n\x1b[201~")
	at = s.out.expect(t, at, "bpm 73 submitted")
	if got, want := s.node.submissions(), []string{"bpm 72", "bpm 73"}; !equal(got, want) {
		t.Errorf("submitted %v, want %v", got, want)
	}
	select {
	case <-s.quit:
		t.Errorf("a pasted Ctrl-C stopped the node")
	default:
	}
	if out := s.out.String(); strings.Contains(out, "bbbb") {
		t.Errorf("the refused paste was drawn:\n%q", out)
	}
}
