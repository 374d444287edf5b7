from eoplex_jobs.server import main

main()
