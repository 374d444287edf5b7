import sys

from eoplex.cli import main

sys.exit(main())
