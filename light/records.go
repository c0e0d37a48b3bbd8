package light

import (
	"encoding/binary"

	"github.com/posnode/posnode/chain"
)

// ProtoRecords is the protocol name of a history request: an account's BPM records with their proofs
// (PROTOCOL.md §14).
const ProtoRecords = "light-records"

// MaxRecords is the most records one history answer holds, and the most a request may ask for (PROTOCOL.md
// §14): with a record at most tx [153] + header [320] + 2 + MaxProof bytes, an answer is under 100 KB.
const MaxRecords = 64

// RecordsRequest asks for account Address's BPM records in canonical blocks below height Before (0: from the
// head down) with a nonce below BelowNonce (0: any), newest first, at most Limit (1 to MaxRecords) of them.
type RecordsRequest struct {
	Address    chain.Address
	Before     chain.Height
	BelowNonce chain.Nonce
	Limit      uint16
}

// Encode returns r's 50 bytes: address [32] | before u64 | below_nonce u64 | limit u16.
func (r *RecordsRequest) Encode() []byte {
	b := binary.BigEndian.AppendUint64(append(make([]byte, 0, 50), r.Address[:]...), uint64(r.Before))
	b = binary.BigEndian.AppendUint64(b, uint64(r.BelowNonce))
	return binary.BigEndian.AppendUint16(b, r.Limit)
}

// DecodeRecordsRequest decodes exactly 50 bytes; a limit of 0 or above MaxRecords fails. Errors wrap
// ErrMalformed.
func DecodeRecordsRequest(data []byte) (RecordsRequest, error) {
	rd := reader{b: data}
	var r RecordsRequest
	copy(r.Address[:], rd.take(32))
	r.Before, r.BelowNonce = chain.Height(rd.u64()), chain.Nonce(rd.u64())
	if r.Limit = rd.u16(); rd.err == nil && (r.Limit == 0 || r.Limit > MaxRecords) {
		rd.fail("limit %d, want 1 to %d", r.Limit, MaxRecords)
	}
	return r, rd.end("records request")
}

// Record is one BPM record of a history answer: the signed transaction, the header of the canonical block that
// holds it and the inclusion proof of its id under the header's tx_root (PROTOCOL.md §4a).
type Record struct {
	Tx     chain.Tx
	Header chain.Header
	Proof  chain.MerkleProof
}

// RecordsAnswer is a page of an account's records, newest first, and where the next page starts: Next is the
// Before of the next request, 0 when the server read down to height 1; the next request's BelowNonce is the
// last record's nonce.
type RecordsAnswer struct {
	Records []Record
	Next    chain.Height
}

// Encode returns a's encoding: next u64 | nrecords u16 | nrecords × (tx [153] | header [320] | proof length
// u16 | merkle proof).
func (a *RecordsAnswer) Encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(a.Next))
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.Records)))
	for i := range a.Records {
		r := &a.Records[i]
		b = r.Header.AppendTo(r.Tx.AppendTo(b))
		b = r.Proof.AppendTo(binary.BigEndian.AppendUint16(b, uint16(r.Proof.EncodedSize())))
	}
	return b
}

// DecodeRecordsAnswer decodes exactly one history answer. It rejects short input, trailing bytes, more than
// MaxRecords records, a proof above MaxProof bytes and a transaction or proof that does not decode, all with
// ErrMalformed. It checks no signature or proof: the client does (PROTOCOL.md §14).
func DecodeRecordsAnswer(data []byte) (RecordsAnswer, error) {
	r := reader{b: data}
	var a RecordsAnswer
	a.Next = chain.Height(r.u64())
	n := int(r.u16())
	if r.err == nil && n > MaxRecords {
		r.fail("%d records, at most %d", n, MaxRecords)
	}
	if r.err == nil && n > 0 {
		a.Records = make([]Record, 0, min(n, len(r.b)/(chain.TxSize+chain.HeaderSize)+1))
	}
	for i := 0; i < n && r.err == nil; i++ {
		a.Records = append(a.Records, r.record())
	}
	if r.err != nil {
		a.Records = nil
	}
	return a, r.end("records answer")
}

// record reads one record of a history answer.
func (r *reader) record() Record {
	var rec Record
	if raw := r.take(chain.TxSize); raw != nil {
		var err error
		if rec.Tx, err = chain.DecodeTx(raw); err != nil {
			r.fail("record transaction: %v", err)
		}
	}
	rec.Header = r.header()
	n := int(r.u16())
	if r.err == nil && n > MaxProof {
		r.fail("merkle proof of %d bytes", n)
	}
	if raw := r.take(n); raw != nil {
		var err error
		if rec.Proof, err = chain.DecodeMerkleProof(raw); err != nil {
			r.fail("record proof: %v", err)
		}
	}
	return rec
}
