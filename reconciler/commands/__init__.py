"""One module per subcommand: `add_arguments(parser)`, a frozen options dataclass with
`from_args(args)`, and `run(options)` returning the exit code. reconciler.cli dispatches."""
