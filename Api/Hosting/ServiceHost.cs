using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace GovSg.Hosting;

/// <summary>How both services run: the one place that turns a failed start into an exit code.</summary>
internal static class ServiceHost
{
    /// <summary>
    /// Builds the service, lets <paramref name="configure"/> map its endpoints, and runs it until it stops; a stop for a
    /// reason already logged (<see cref="BrokerLoginRefusedObserver"/>) ends with its exit code. Settings that fail
    /// validation (at start, or when mapping needs them) stop the process with exit code 1 and one line naming them,
    /// rather than an unhandled exception (an abort, exit code 134, and a core dump on every restart of a crash loop).
    /// </summary>
    public static async Task RunAsync(this WebApplicationBuilder builder, Action<WebApplication> configure)
    {
        var app = builder.Build();
        var isTheProcess = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name == app.Environment.ApplicationName;
        var starting = false;
        try
        {
            // Every setting validated at start, all at once: mapping and the bus read some of them earlier, and would
            // otherwise name only their own, one restart at a time.
            app.Services.GetService<IStartupValidator>()?.Validate();
            configure(app);
            starting = true;
            await app.StartAsync();
            await app.WaitForShutdownAsync();
        }
        catch (OperationCanceledException) when (Environment.ExitCode != 0)
        {
            // Stopped while still starting: the start is cancelled, which is no news.
        }
        // Only when the service is the process: a host inside another (a test's) is given the exception instead.
        catch (Exception exception) when (isTheProcess && InvalidSettings(exception) is [_, ..] failures)
        {
            app.Logger.LogCritical("Invalid configuration, not starting: {Failures}", string.Join(" ", failures));
            Environment.ExitCode = 1;
        }
        catch (IOException exception) when (isTheProcess && exception.InnerException is AddressInUseException)
        {
            // Another process (often this service's previous run) holds the port: Kestrel's own words name it.
            app.Logger.LogCritical("Cannot listen, not starting: {Reason}", exception.Message);
            Environment.ExitCode = 1;
        }
        finally
        {
            // As WebApplication.RunAsync disposes it, after the line above (disposing flushes the console log). A host
            // inside another that failed before starting is left to its owner, which reads it as the exception reaches
            // it (WebApplicationFactory).
            if (starting || isTheProcess)
            {
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// What settings validation refused, when that is all the exception is (the host gathers every option's), or the
    /// setting the configuration binder could not read as its type ("5s" for a TimeSpan, which wants 00:00:05). The
    /// binder's message names the setting and its value; the values it converts are numbers and times, never secrets.
    /// </summary>
    private static List<string> InvalidSettings(Exception exception) => exception switch
    {
        OptionsValidationException invalid => [.. invalid.Failures],
        InvalidOperationException unreadable when unreadable.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) =>
            [unreadable.Message],
        AggregateException many when many.InnerExceptions.All(e => e is OptionsValidationException) =>
            [.. many.InnerExceptions.SelectMany(InvalidSettings)],
        _ => [],
    };
}
