"""Tools beside the product: provider stand-ins and benchmarks."""
