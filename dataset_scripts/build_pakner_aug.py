"""Build the `ORG/pakner-aug` dataset repo folder: a thin shell over `hubkit build-aug`.

    python dataset_scripts/build_pakner_aug.py --pakner build/pakner --model runs/ranker --out build/pakner-aug
"""

import sys

from hubkit.cli import main

if __name__ == "__main__":
    sys.exit(main(["build-aug", *sys.argv[1:]]))
