from partitur.cli.main import main

main()
