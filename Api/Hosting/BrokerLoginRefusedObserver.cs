using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Hosting;

/// <summary>
/// A broker that refuses this service's login when the bus starts: MassTransit then faults the bus for good and never
/// tries again, so the service would stay up and live without ever connecting, even once its user exists (a deployment
/// that starts the services before the broker's users are made, a credential rotation). It stops the service with exit
/// code 1 instead, so that its supervisor (Kubernetes, compose's restart policy) starts it again, and says why.
/// </summary>
internal sealed class BrokerLoginRefusedObserver(IHostApplicationLifetime lifetime, ILogger<BrokerLoginRefusedObserver> logger)
    : IBusObserver
{
    public Task StartFaulted(IBus bus, Exception exception)
    {
        if (IsLoginRefused(exception))
        {
            logger.LogCritical("RabbitMQ refused this service's login; stopping with exit code 1 so that it is restarted " +
                               "(check RabbitMq:Username and RabbitMq:Password)");
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Builds the service, lets <paramref name="configure"/> map its endpoints, and runs it until it stops; a stop for a
    /// reason already logged (above) ends with its exit code. Settings that fail validation (at start, or when mapping
    /// needs them) stop the process with exit code 1 and one line naming them, rather than an unhandled exception (an
    /// abort, exit code 134, and a core dump on every restart of a crash loop).
    /// </summary>
    public static async Task RunAsync(WebApplicationBuilder builder, Action<WebApplication> configure)
    {
        var app = builder.Build();
        var isTheProcess = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name == app.Environment.ApplicationName;
        var starting = false;
        try
        {
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

    /// <summary>What settings validation refused, when that is all the exception is (the host gathers every option's).</summary>
    private static List<string> InvalidSettings(Exception exception) => exception switch
    {
        OptionsValidationException invalid => [.. invalid.Failures],
        AggregateException many when many.InnerExceptions.All(e => e is OptionsValidationException) =>
            [.. many.InnerExceptions.SelectMany(InvalidSettings)],
        _ => [],
    };

    private static bool IsLoginRefused(Exception? exception) => exception switch
    {
        null => false,
        RabbitMQ.Client.Exceptions.AuthenticationFailureException => true,
        AggregateException many => many.InnerExceptions.Any(IsLoginRefused),
        _ => IsLoginRefused(exception.InnerException),
    };

    public void PostCreate(IBus bus)
    {
    }

    public void CreateFaulted(Exception exception)
    {
    }

    public Task PreStart(IBus bus) => Task.CompletedTask;

    public Task PostStart(IBus bus, Task<BusReady> busReady) => Task.CompletedTask;

    public Task PreStop(IBus bus) => Task.CompletedTask;

    public Task PostStop(IBus bus) => Task.CompletedTask;

    public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;
}
