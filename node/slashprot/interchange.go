package slashprot

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/posnode/posnode/chain"
)

// InterchangeVersion is the EIP-3076 interchange format version Export writes and Import reads.
const InterchangeVersion = "5"

// maxInterchangeBytes bounds what Import reads.
const maxInterchangeBytes = 64 << 20

// interchange is an EIP-3076 interchange file. Numbers are decimal strings and hashes and keys 0x-hex, as the
// EIP specifies; a slice that is nil after decoding was missing or null.
type interchange struct {
	Metadata struct {
		Version               string `json:"interchange_format_version"`
		GenesisValidatorsRoot string `json:"genesis_validators_root"`
	} `json:"metadata"`
	Data []interchangeKey `json:"data"`
}

type interchangeKey struct {
	Pubkey             string             `json:"pubkey"`
	SignedBlocks       []interchangeBlock `json:"signed_blocks"`
	SignedAttestations []interchangeVote  `json:"signed_attestations"`
}

type interchangeBlock struct {
	Slot        string `json:"slot"`
	SigningRoot string `json:"signing_root,omitempty"`
}

type interchangeVote struct {
	SourceEpoch string `json:"source_epoch"`
	TargetEpoch string `json:"target_epoch"`
	SigningRoot string `json:"signing_root,omitempty"`
}

// Export writes the record as an EIP-3076 version 5 interchange file for the network whose genesis hash is
// genesisValidatorsRoot (PROTOCOL.md §5, §11). It writes the minimal form: per key, the latest block signed and
// the latest vote (or, when that vote is not also the highest source, the watermark without a root), which
// make any EIP-3076 importer refuse whatever this record refuses. Export only when no node uses the key.
func (db *DB) Export(w io.Writer, genesisValidatorsRoot chain.Hash) error {
	var x interchange
	x.Metadata.Version = InterchangeVersion
	x.Metadata.GenesisValidatorsRoot = hex0x(genesisValidatorsRoot[:])
	x.Data = []interchangeKey{}
	db.mu.Lock()
	for _, addr := range sortedAddrs(db.signers) {
		s := db.signers[addr]
		if !s.hasBlock && !s.hasVotes {
			continue
		}
		k := interchangeKey{Pubkey: hex0x(addr[:]), SignedBlocks: []interchangeBlock{}, SignedAttestations: []interchangeVote{}}
		if s.hasBlock {
			k.SignedBlocks = append(k.SignedBlocks, interchangeBlock{Slot: decimal(s.slot), SigningRoot: rootHex(s.blockRoot)})
		}
		if s.hasVotes {
			v := s.latestVote()
			k.SignedAttestations = append(k.SignedAttestations, interchangeVote{SourceEpoch: decimal(v.source),
				TargetEpoch: decimal(v.target), SigningRoot: rootHex(v.root)})
		}
		x.Data = append(x.Data, k)
	}
	db.mu.Unlock()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&x); err != nil {
		return fmt.Errorf("write interchange: %w", err)
	}
	return nil
}

// Import merges an EIP-3076 version 5 interchange file into the record: per key, the latest block and the
// highest source and target only ever rise, and the file's votes join the kept ones, so nothing refused before
// is allowed after (PROTOCOL.md §11). It reads at most 64 MiB, checks every field before it records anything,
// and fails with an error wrapping ErrInterchange for a malformed file and ErrWrongGenesis for a file of
// another network. The merged records are durable when it returns nil. Import only when no node uses the key.
func (db *DB) Import(r io.Reader, genesisValidatorsRoot chain.Hash) error {
	staged, err := decodeInterchange(r, genesisValidatorsRoot)
	if err != nil {
		return err
	}
	var recs []record
	for _, addr := range sortedAddrs(staged) {
		recs = append(recs, staged[addr].records(addr)...)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.f == nil {
		return db.err
	}
	if len(recs) == 0 {
		return nil
	}
	if err := db.append(recs); err != nil {
		return err
	}
	for _, rec := range recs {
		db.signer(rec.addr).apply(rec)
	}
	return db.maybeCompact()
}

// decodeInterchange reads and checks an interchange file and merges its records per key.
func decodeInterchange(r io.Reader, genesis chain.Hash) (map[chain.Address]*signer, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInterchangeBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read interchange: %w", err)
	}
	if len(data) > maxInterchangeBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInterchange, maxInterchangeBytes)
	}
	var x interchange
	if err := json.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInterchange, err)
	}
	if err := checkMetadata(&x, genesis); err != nil {
		return nil, err
	}
	staged := map[chain.Address]*signer{}
	for i := range x.Data {
		if err := stageKey(staged, &x.Data[i]); err != nil {
			return nil, fmt.Errorf("%w: data[%d]: %v", ErrInterchange, i, err)
		}
	}
	return staged, nil
}

func checkMetadata(x *interchange, genesis chain.Hash) error {
	if x.Metadata.Version != InterchangeVersion {
		return fmt.Errorf("%w: interchange_format_version %q, want %q", ErrInterchange, x.Metadata.Version, InterchangeVersion)
	}
	root, err := parseHash0x(x.Metadata.GenesisValidatorsRoot)
	if err != nil {
		return fmt.Errorf("%w: genesis_validators_root: %v", ErrInterchange, err)
	}
	if root != genesis {
		return fmt.Errorf("%w: genesis_validators_root %s, this network's genesis hash is %s", ErrWrongGenesis, root, genesis)
	}
	if x.Data == nil {
		return fmt.Errorf("%w: no data", ErrInterchange)
	}
	return nil
}

// stageKey checks one key's entry and merges it into staged.
func stageKey(staged map[chain.Address]*signer, k *interchangeKey) error {
	pub, err := parseHex0x(k.Pubkey, len(chain.Address{}))
	if err != nil {
		return fmt.Errorf("pubkey: %v", err)
	}
	if k.SignedBlocks == nil || k.SignedAttestations == nil {
		return fmt.Errorf("pubkey %s: signed_blocks and signed_attestations are required", k.Pubkey)
	}
	addr := chain.Address(pub)
	s, ok := staged[addr]
	if !ok {
		s = &signer{}
		staged[addr] = s
	}
	for j, b := range k.SignedBlocks {
		slot, err1 := parseDecimal(b.Slot)
		root, err2 := parseOptionalRoot(b.SigningRoot)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("signed_blocks[%d]: slot %q, signing_root %q: want a decimal slot and 32 bytes of 0x-hex", j, b.Slot, b.SigningRoot)
		}
		s.addBlock(chain.Slot(slot), root)
	}
	for j, a := range k.SignedAttestations {
		v, err := parseVote(a)
		if err != nil {
			return fmt.Errorf("signed_attestations[%d]: %v", j, err)
		}
		s.addVote(v)
	}
	return nil
}

func parseVote(a interchangeVote) (vote, error) {
	source, err1 := parseDecimal(a.SourceEpoch)
	target, err2 := parseDecimal(a.TargetEpoch)
	root, err3 := parseOptionalRoot(a.SigningRoot)
	if err1 != nil || err2 != nil || err3 != nil {
		return vote{}, fmt.Errorf("source_epoch %q, target_epoch %q, signing_root %q: want decimal epochs and 32 bytes of 0x-hex",
			a.SourceEpoch, a.TargetEpoch, a.SigningRoot)
	}
	if source > target {
		return vote{}, fmt.Errorf("source epoch %d after target epoch %d", source, target)
	}
	return vote{chain.Epoch(source), chain.Epoch(target), root}, nil
}

func parseDecimal(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }

func decimal[T ~uint64](v T) string { return strconv.FormatUint(uint64(v), 10) }

// parseHex0x decodes "0x" followed by exactly n bytes of hex.
func parseHex0x(s string, n int) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "0x")
	if !ok {
		return nil, fmt.Errorf("%q does not start with 0x", s)
	}
	b, err := hex.DecodeString(rest)
	if err != nil || len(b) != n {
		return nil, fmt.Errorf("%q is not %d bytes of hex", s, n)
	}
	return b, nil
}

func parseHash0x(s string) (chain.Hash, error) {
	b, err := parseHex0x(s, len(chain.Hash{}))
	if err != nil {
		return chain.Hash{}, err
	}
	return chain.Hash(b), nil
}

// parseOptionalRoot decodes a signing root; an absent one is the zero (unknown) root.
func parseOptionalRoot(s string) (chain.Hash, error) {
	if s == "" {
		return chain.Hash{}, nil
	}
	return parseHash0x(s)
}

func hex0x(b []byte) string { return "0x" + hex.EncodeToString(b) }

// rootHex is a signing root for the interchange file: omitted when unknown.
func rootHex(h chain.Hash) string {
	if h.IsZero() {
		return ""
	}
	return hex0x(h[:])
}
