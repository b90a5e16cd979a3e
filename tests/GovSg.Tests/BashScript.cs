using System.Diagnostics;

namespace GovSg.Tests;

/// <summary>Runs one of the repository's bash scripts (the node checks under tests/) and keeps what it wrote.</summary>
public static class BashScript
{
    /// <summary>Its exit code, and its standard output followed by its standard error; at most five minutes.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await errors);
    }
}
