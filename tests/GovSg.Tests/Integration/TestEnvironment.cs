namespace GovSg.Tests.Integration;

/// <summary>Starts the system once for every integration test, and stops it at the end.</summary>
[SetUpFixture]
public sealed class TestEnvironment
{
    public static TestSystem Current { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => Current = await TestSystem.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await Current.DisposeAsync();
}
