"""One module per `k3dn` subcommand."""
