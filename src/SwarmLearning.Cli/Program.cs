using SwarmLearning.Cli;

return await SwarmCli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
