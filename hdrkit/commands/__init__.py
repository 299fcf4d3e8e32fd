"""One module per ``hdrkit`` subcommand; each exposes ``add_parser(subparsers)``."""
