"""The board's report of a pilot: built once from the data, then written as JSON, HTML or PDF."""
