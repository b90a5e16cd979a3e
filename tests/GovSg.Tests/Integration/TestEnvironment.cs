namespace GovSg.Tests.Integration;

/// <summary>
/// Starts PostgreSQL and RabbitMQ containers and the system on them once for every integration test, and removes
/// them at the end.
/// </summary>
[SetUpFixture]
public sealed class TestEnvironment
{
    private TestInfrastructure _infrastructure = null!;

    public static TestSystem Current { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _infrastructure = await TestInfrastructure.StartAsync();
        try
        {
            Current = await TestSystem.StartAsync();
        }
        catch
        {
            // NUnit skips the teardown when the setup fails; the containers must not outlive the run.
            await _infrastructure.DisposeAsync();
            throw;
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await Current.DisposeAsync();
        await _infrastructure.DisposeAsync();
    }
}
