from eoplex_capabilities.server import main

main()
