// Package slashprot is a validator's local slashing protection: the durable record of every block and
// checkpoint vote its keys signed, consulted before each new signature so that an honest node never signs two
// messages that could be used as evidence against it (PROTOCOL.md §11). It is node behaviour, not consensus:
// nothing here is checked by peers.
//
// # Rules
//
// Per key, the record keeps the latest 1,024 blocks signed (slot and root) and the checkpoint votes signed, and
// refuses (EIP-3076's "minimal" strategy, with double and surround votes also named against every vote it
// keeps):
//
//   - a block for a slot at or below the latest signed slot, unless it is the very block signed at that slot
//     (same signing root): ErrDoubleBlock for the same slot, ErrBlockBelowWatermark below it;
//   - a vote with source > target (ErrInvalidVote);
//   - a vote for a target epoch already voted for with another root (ErrDoubleVote), one that surrounds or is
//     surrounded by a kept vote (ErrSurroundingVote, ErrSurroundedVote), and any vote whose source is below the
//     highest recorded source or whose target is at or below the highest recorded target unless it repeats a
//     kept vote exactly (ErrVoteBelowWatermark).
//
// A zero signing root means "unknown" (a record migrated or imported without one): it never matches, so
// nothing is re-signed at that slot or target. The watermark rules alone make every slashable pair
// impossible; the pairwise checks name the offence in the error.
//
// The kept blocks and votes also tell the node's own past from another process's (BlockOrigin, VoteOrigin):
// a block or vote of the key that comes back from peers — after chain.db was moved aside, or a crash lost
// unflushed blocks — is Signed when the record holds it with its root, NotSigned when it lies above
// everything recorded or the record holds its slot or target with another root, and Unexplained when it is
// older than the kept history (PROTOCOL.md §10).
//
// # The file
//
// The record is an append-only log, <data>/slashing-protection.dat: a 31-byte header line
// ("posnode/slashing-protection/v1\n") then fixed 85-byte records
//
//	kind u8 | pubkey [32] | a u64 | b u64 | root [32] | crc32c u32 (over the 81 bytes before it)
//	kind 1 block: a = slot, b = 0        kind 2 vote: a = source, b = target
//	kind 3 vote watermark: a = highest source, b = highest target, root = 0
//
// Recording a signature is one 85-byte append and one fsync, whatever the history's length, so the cost of
// the rule on the signing path stays constant; a JSON file would have to be rewritten (and its directory
// synced) on every signature. The fixed size and checksum make a write cut short by a crash recognisable: a
// last record shorter than 85 bytes (a kill inside the write) or zeros to the end of the file (a power cut after
// the file grew, before its data reached the disk) were never acknowledged — their fsync had not returned, so
// their signature never left the node — and are dropped on open. A record with a bad checksum, the last one
// included, means the file is damaged: it may be an acknowledged record, so Open refuses with a one-line error
// that names the file and the remedy rather than guess. The format is small enough to decode completely by
// hand and to fuzz (FuzzParseLog); it lives apart from chain.db so that deleting or resyncing the chain keeps
// it.
//
// The log is compacted when it holds many more records than the live state (the kept blocks, the kept
// votes and a watermark per key): the live state is written to a temporary file, synced, renamed over the log
// and the directory synced, so a crash leaves either the old log or the new one, which protect the same.
// The directory is also synced when the log is created; an append changes only the file, whose fsync makes
// its new length durable.
//
// One process at a time: Open takes an exclusive lock on <data>/slashing-protection.dat.lock and fails with
// ErrLocked while a running node (or an import or export) holds it.
//
// Export and Import speak EIP-3076's interchange format, version 5, with posnode's genesis hash as
// genesis_validators_root and the 32-byte ed25519 key as pubkey. Export writes the minimal form (the latest
// block, and the latest vote or the watermark), which carries the whole protection to any importer; Import
// merges by maxima and never lowers what is recorded.
package slashprot
