from eoplex_processes.server import main

main()
