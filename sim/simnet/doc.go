// Package simnet runs a whole posnode network in one process, deterministically under one seed: the node's own
// code (node.Node, started with node.Start instead of node.Run, so the same event loop logic, sync state machine,
// mempool, vote pool, slashing protection and pending-transaction log; chain.db in memory or in bbolt), wired to a
// virtual clock, a simulated network and an event queue instead of libp2p, the wall clock and goroutines
// (node/env.go).
//
// A run (Config, Sim.Run) starts every process at genesis. During Duration: links with latency ± jitter, loss and
// duplication (so reordering), an optional bandwidth; partitions into two random sides that form and heal; crashes
// that lose what a node had not written, with restarts 5–30 s later, a quarter of them without chain.db; clocks
// skewed by up to ± ClockSkew, drifting and jumping, and disks that fill up or fail for a while (diskclock.go);
// unequal stakes that clients change (stakes.go); clients that submit BPM records to random live processes and
// remember what was acknowledged. Then every fault heals and the clients stop for Heal. Invariants (invariants.go) are checked at
// each epoch's start and at the end: no two live processes finalized conflicting checkpoints; while the network is
// whole, finality lags at most maxFinalityLag epochs, and up to 2 more for each epoch whose honest votes a
// private branch split (release_lag.go); every acknowledged record is on the chain exactly once; no
// honest validator is slashed; each validator's share of the lottery's slots and of the blocks is within its band,
// slot by slot with the stake table of the slot's epoch (fairness.go).
//
// Determinism is checked, not assumed: every event run (its virtual time, process, incarnation and kind) and every
// gossip message delivered goes into a SHA-256 trace, and a seed run twice must give the same trace, the second
// run with nothing shared between the processes (Config.Unshared; TestSameSeedSameTrace; `posnode sim net --twice`). The processes draw their random choices from seeds of the
// run; events at one virtual time run in the order they were queued. A gossip copy sent to a process that has the
// message already is no event: it could only arrive as a duplicate (gossipMsg.has).
//
// Gossip and storage. By default every live link carries every gossip message; with Config.Mesh = D a process
// sends on only the first D of its live links (mesh.go), as gossipsub keeps a mesh of D = 8 peers per topic out of
// its connections, so a message crosses about D×N links instead of every link twice, with the same flood order and
// validation at every hop. The mesh re-forms at once from the live links after a crash or partition; gossipsub's
// IHAVE/IWANT repair of lost messages is not modeled, so a lost message reaches a process only by another mesh
// path (or by sync). chain.db is in memory (store.go) unless Config.Bolt; the crash semantics are bbolt's on a
// tmpfs, where a simulated crash loses exactly what the node had not written — store.go says why. Slashing
// protection and the pending-transaction log stay real files.
//
// Figures (metrics.go, in Stats): slot fill (canonical blocks of the reference process per slot), the reorgs every
// process saw and the deepest (node.Config.OnHead), the finality lag at each epoch check (median and most), and
// block propagation: the virtual time from a block's proposal to its acceptance by each other process
// (node.Config.OnBlock; the first acceptance by a process only, so a resync after a restart counts once, and late).
// The hooks only observe: a run gives the same trace with or without them.
//
// Byzantine validators (Config.Byzantine, Config.Strategies; byzantine.go, grind.go) run the honest node and only
// intercept what it publishes or sign more with its key: double proposals and votes, withheld and late blocks,
// split votes, stake grinding at epoch tails, surround votes, private branches released late, lies in sync
// answers, and a history rebuilt from genesis with exited keys, met by honest processes restarted with a trusted
// checkpoint (surround.go, release.go, synclie.go, longrange.go; a liar's handlers are wrapped in the simulated
// network, Handle). A client floods nonce-gapped transactions (clients.go). Their
// invariants (invariants_adv.go): accountability, gap forwarding, bounded mempools, durable acknowledgements,
// signing after restarts, the adversary's share of blocks, liars penalised, no chain adopted without the trusted
// checkpoint (invariants_lr.go). docs/SIMULATION.md shows the defects they find.
//
// What the simulator does not model: libp2p itself (gossipsub's mesh management and gossip repair, peer scoring,
// the connection manager, request rate limits — a handler's limits are not applied), disks that lose written but
// unsynced pages or tear them, faults of the slashing protection record or of a bbolt chain.db, the HTTP API and the prompt. Signature, VRF and key checks are shared across
// processes (chain.ShareVerification): an outcome depends only on the bytes checked, so CPU goes to behaviour, and
// a process never sees a result it would not have computed itself. So are the stake tables with their indexes, one
// copy per table root, the state at genesis, one per genesis hash, each slot's leader draw, one per table root,
// seed source and slot, the anchor kept at each rise of the floor, one encoding per block and header count, the
// floor's snapshot at each rise, one encoding per record, each block's validated post-state, one per block hash, and
// each block's finality (its counted votes), one per parent finality and block (chain.ShareStates): every process
// would have computed the same.
// So a state transition that differed between processes would show only at the process that computes it, not as a
// state-root mismatch at every other; the determinism check runs each seed again with Config.Unshared, where it
// shows as at separate processes, and the two traces must be the same.
package simnet
