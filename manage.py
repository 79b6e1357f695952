#!/usr/bin/env python
from kesu.cli import main

if __name__ == "__main__":
    main()
