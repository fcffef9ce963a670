"""Build the `ORG/pakner` dataset repo folder: a thin shell over `hubkit build`.

    python dataset_scripts/build_pakner.py --data-dir ../shared/data --out build/pakner
"""

import sys

from hubkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["build", *sys.argv[1:]]))
