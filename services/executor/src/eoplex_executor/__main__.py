from eoplex_executor.server import main

main()
