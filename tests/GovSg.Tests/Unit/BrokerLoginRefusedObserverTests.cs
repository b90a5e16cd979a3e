using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client.Exceptions;

namespace GovSg.Tests.Unit;

/// <summary>
/// A refused broker login stops the service with exit code 1; any other start fault is MassTransit's to retry. The
/// observer is compiled into both services (Api/Hosting), so the Api's copy is the one tested.
/// </summary>
[NonParallelizable]
public sealed class BrokerLoginRefusedObserverTests
{
    private static IBusObserver Observer(IHostApplicationLifetime lifetime)
    {
        var type = typeof(GovSg.Api.Program).Assembly.GetType("GovSg.Hosting.BrokerLoginRefusedObserver", throwOnError: true)!;
        var logger = typeof(NullLogger<>).MakeGenericType(type).GetField(nameof(NullLogger<object>.Instance))!.GetValue(null);
        return (IBusObserver)Activator.CreateInstance(type, lifetime, logger)!;
    }

    [TearDown]
    public void ResetExitCode() => Environment.ExitCode = 0;

    [Test]
    public async Task StartFaulted_ByARefusedLogin_StopsTheServiceWithExitCode1()
    {
        var lifetime = new Lifetime();
        var refused = new RabbitMqConnectionException("Broker unreachable: govsg-api@rabbitmq:5672/",
            new BrokerUnreachableException(new AuthenticationFailureException("ACCESS_REFUSED - Login was refused")));

        await Observer(lifetime).StartFaulted(null!, refused);

        Assert.That(lifetime.Stopped, Is.True);
        Assert.That(Environment.ExitCode, Is.EqualTo(1));
    }

    [Test]
    public async Task StartFaulted_ByAnUnreachableBroker_LeavesTheServiceRunning()
    {
        var lifetime = new Lifetime();
        var unreachable = new RabbitMqConnectionException("Broker unreachable: govsg-api@rabbitmq:5672/",
            new BrokerUnreachableException(new System.Net.Sockets.SocketException(111)));

        await Observer(lifetime).StartFaulted(null!, unreachable);

        Assert.That(lifetime.Stopped, Is.False);
        Assert.That(Environment.ExitCode, Is.Zero);
    }

    [Test]
    public async Task StartFaulted_WhenOneOfSeveralFailuresIsARefusedLogin_StopsTheService()
    {
        // MassTransit gathers the failures of its connection attempts; the refused login need not be the first of them.
        var lifetime = new Lifetime();
        var faults = new AggregateException(new TimeoutException("first attempt"),
            new BrokerUnreachableException(new AuthenticationFailureException("ACCESS_REFUSED - Login was refused")));

        await Observer(lifetime).StartFaulted(null!, faults);

        Assert.That(lifetime.Stopped, Is.True);
        Assert.That(Environment.ExitCode, Is.EqualTo(1));
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public bool Stopped { get; private set; }

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stopped = true;
    }
}
