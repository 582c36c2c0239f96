"""The audit log: an append-only, hash-chained record of every change, written in the transaction of the change."""
