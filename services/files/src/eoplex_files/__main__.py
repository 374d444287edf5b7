from eoplex_files.server import main

main()
