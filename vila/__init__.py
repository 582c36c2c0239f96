"""Vila's composition root: the `vila` command wires settings, database, runner and app together."""
