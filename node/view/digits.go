package view

import (
	"strconv"
	"strings"
)

// GroupDigits writes v in decimal with its digits in groups of three, as the prompt and the explorer show
// amounts, heights and epochs: 1,234,567.
func GroupDigits(v uint64) string {
	s := strconv.FormatUint(v, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Tokens writes an amount of tokens as the prompt and the explorer say it: "1 token", "0 tokens", "1,000 tokens".
func Tokens(v uint64) string {
	if v == 1 {
		return "1 token"
	}
	return GroupDigits(v) + " tokens"
}
