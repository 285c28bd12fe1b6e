"""Témoin's pure evidence library: digests, canonical JSON, signatures, Merkle logs.

Imports only the standard library and ``cryptography``, so that a legal team can verify
exhibits, custody chains and log proofs with this package alone. See README.md.
"""
