"""The disclosure log: Merkle tree, sequencer, checkpoints, proofs and verification."""
