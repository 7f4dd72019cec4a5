import RunnerCLI

RunnerCommand.main()
