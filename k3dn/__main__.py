"""`python -m k3dn COMMAND ...`, the same as the `k3dn` console command (and what torchrun runs:
`torchrun --nproc_per_node 8 -m k3dn train ...`)."""

import sys

from .cli import main

sys.exit(main())
