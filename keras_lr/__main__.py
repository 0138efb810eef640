"""`python -m keras_lr`: the `keras-lr` command."""

import sys

from keras_lr_cli import main

if __name__ == "__main__":
    sys.exit(main())
