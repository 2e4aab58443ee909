"""`python -m amuse_cli ...` (what `torchrun -m amuse_cli ...` runs)."""
from amuse_cli.cli import main

if __name__ == "__main__":
    main()
