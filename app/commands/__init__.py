"""One module per `soldernet` subcommand: `add_parser(subparsers)` and `run(args)`."""
