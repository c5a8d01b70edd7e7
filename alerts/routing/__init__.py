"""Where notices go: the routing file, label matchers, grouping, the sink per receiver."""
