package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/posnode/posnode/chain"
)

// The journal file (format 2) is the line journalMagic, then one entry per transaction:
// tx [153] (its encoding, PROTOCOL.md §3) | CRC-32C of those 153 bytes, u32 big-endian.
// A file of format 1, from before the checksum, is bare 153-byte encodings; it is read once and rewritten.
const (
	journalMagic     = "posnode pending transactions v2\n"
	journalEntrySize = chain.TxSize + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrJournalDamaged: an entry of the journal, before its torn tail if any, fails its checksum or does not decode.
var ErrJournalDamaged = errors.New("damaged journal")

// appendEntry appends the journal entry of tx to b.
func appendEntry(b []byte, tx *chain.Tx) []byte {
	start := len(b)
	b = tx.AppendTo(b)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// decodedJournal is what decodeJournal found in a journal file.
type decodedJournal struct {
	txs     []chain.Tx
	legacy  bool  // format 1
	dropped int   // bytes of a torn tail after the last good entry
	tornErr error // why the first dropped entry was dropped
}

// decodeJournal reads a journal file. A crash can leave only the end of the file unwritten, so a run of bad or
// partial entries that reaches the end is a torn tail, dropped; a bad entry followed by a good one is damage,
// an error wrapping ErrJournalDamaged that says which entry. It checks checksums and encodings only: the
// transactions are the caller's to validate.
func decodeJournal(data []byte) (decodedJournal, error) {
	switch {
	case len(data) == 0:
		return decodedJournal{}, nil
	case bytes.HasPrefix(data, []byte(journalMagic)):
		return decodeEntries(data[len(journalMagic):], journalEntrySize, decodeEntry)
	case chain.TxKind(data[0]).Known():
		d, err := decodeEntries(data, chain.TxSize, chain.DecodeTx)
		d.legacy = true
		return d, err
	}
	return decodedJournal{}, fmt.Errorf("%w: not a journal (it starts with %q)", ErrJournalDamaged, data[:min(len(data), 16)])
}

// decodeEntry decodes one format-2 entry.
func decodeEntry(e []byte) (chain.Tx, error) {
	body := e[:chain.TxSize]
	if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(e[chain.TxSize:]); got != want {
		return chain.Tx{}, fmt.Errorf("checksum %08x, entry says %08x", got, want)
	}
	return chain.DecodeTx(body)
}

// decodeEntries decodes the entries of size bytes in data with decode, as decodeJournal describes.
func decodeEntries(data []byte, size int, decode func([]byte) (chain.Tx, error)) (decodedJournal, error) {
	var d decodedJournal
	n := (len(data) + size - 1) / size // the last may be partial
	firstBad := -1
	for i := range n {
		e := data[i*size : min(len(data), (i+1)*size)]
		var tx chain.Tx
		err := fmt.Errorf("partial entry of %d bytes", len(e))
		if len(e) == size {
			tx, err = decode(e)
		}
		switch {
		case err != nil && firstBad < 0:
			firstBad, d.tornErr = i, err
		case err == nil && firstBad >= 0:
			return decodedJournal{}, fmt.Errorf("%w: entry %d of %d: %w", ErrJournalDamaged, firstBad, n, d.tornErr)
		case err == nil:
			d.txs = append(d.txs, tx)
		}
	}
	if firstBad >= 0 {
		d.dropped = len(data) - firstBad*size
		d.tornErr = fmt.Errorf("entry %d of %d: %w", firstBad, n, d.tornErr)
	}
	return d, nil
}
