from eoplex_gateway.server import main

main()
