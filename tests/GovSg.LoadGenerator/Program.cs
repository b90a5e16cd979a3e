using Dapper;
using GovSg.LoadGenerator.Ceilings;
using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Cpu;
using GovSg.LoadGenerator.Pipeline;
using GovSg.LoadGenerator.Reads;
using GovSg.LoadGenerator.Sending;

namespace GovSg.LoadGenerator;

/// <summary>
/// Drives the running GovSg system over HTTP and reports what it sustained, next to the machine's own ceilings.
/// Verbs: <c>send</c>, <c>drain</c>, <c>discard</c>, <c>ceilings</c>, <c>reads</c>, <c>cpu</c>; README.md describes them.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var time = TimeProvider.System;
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };

        try
        {
            var line = CommandLine.Parse(args);
            var connections = Connections.From(line);
            IBenchmarkCommand command = line.Verb switch
            {
                "send" => new SendCommand(SendOptions.From(line, time), connections, time),
                "drain" => DrainCommand.From(line, connections, time),
                "discard" => DiscardCommand.From(line, connections, time),
                "ceilings" => CeilingsCommand.From(line, connections, time),
                "reads" => ReadsCommand.From(line, connections, time),
                "cpu" => CpuCommand.From(line, connections, time),
                _ => throw new UsageException($"unknown verb '{line.Verb}'"),
            };
            line.EnsureAllRead();
            await command.RunAsync(cancellation.Token);
            return 0;
        }
        catch (UsageException exception)
        {
            await Console.Error.WriteLineAsync($"error: {exception.Message}\nsee tests/GovSg.LoadGenerator/README.md for the verbs and options");
            return 2;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("cancelled");
            return 130;
        }
    }
}
