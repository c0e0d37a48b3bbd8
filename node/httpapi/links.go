package httpapi

import (
	"html"
	"html/template"

	"github.com/posnode/posnode/chain"
)

// Links between the explorer's pages. They are drawn in Go rather than as templates because the front page holds
// dozens of them and is drawn again on every head: a template action costs a reflective call, these cost a
// string. Every value is escaped, though addresses (base58) and hashes (hex) hold no character that needs it.

// addrLink links to an account's page, showing the end of its address; the zero address is "none".
func addrLink(a chain.Address) template.HTML {
	if a.IsZero() {
		return `<span class="muted">none</span>`
	}
	s := html.EscapeString(a.String())
	return template.HTML(`<a class="mono" href="/account/` + s + `" title="` + s + `">…` + s[len(s)-6:] + `</a>`)
}

// hashLink links to a block's page, showing the first 8 hex digits of its hash.
func hashLink(h chain.Hash) template.HTML { return link("/block/", h) }

// txLink links to a transaction's page, showing the first 8 hex digits of its ID.
func txLink(id chain.Hash) template.HTML { return link("/tx/", id) }

func link(prefix string, h chain.Hash) template.HTML {
	s := h.String()
	return template.HTML(`<a class="mono" href="` + prefix + s + `" title="` + s + `">` + s[:8] + `</a>`)
}
