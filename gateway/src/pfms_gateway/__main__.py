import sys

from pfms_gateway.main import main

sys.exit(main())
