from eoplex_data_discovery.server import main

main()
