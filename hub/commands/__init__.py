"""One module per ``hub`` subcommand, loaded only when that subcommand runs."""
