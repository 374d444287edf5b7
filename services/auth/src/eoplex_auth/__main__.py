from eoplex_auth.server import main

main()
