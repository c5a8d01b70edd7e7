"""Pure rule functions: state in, verdict out. No I/O, no clock but the events' own."""
