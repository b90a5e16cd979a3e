using MassTransit;

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
