namespace GovSg.LoadGenerator.Cli;

/// <summary>One verb of the tool, its options already parsed and checked.</summary>
internal interface IBenchmarkCommand
{
    Task RunAsync(CancellationToken cancellationToken);
}
