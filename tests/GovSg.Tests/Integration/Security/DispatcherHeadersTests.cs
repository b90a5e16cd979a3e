using System.Net;
using System.Reflection;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// The headers SECURITY.md promises on every answer, on the Dispatcher's health endpoints too (an outside review found
/// them missing there).
/// </summary>
public sealed class DispatcherHeadersTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task DispatcherHealth_OnItsRealServer_CarriesTheSecurityHeadersAndNoServerHeader()
    {
        // SECURITY.md "Caches and browsers": every answer carries Cache-Control: no-store and X-Content-Type-Options:
        // nosniff, and no Server header. The Dispatcher answers its probes on 8080 from the same Kestrel.
        var settings = (Dictionary<string, string?>)typeof(TestSystem)
            .GetMethod("DispatcherSettings", BindingFlags.NonPublic | BindingFlags.Static)!
            .Invoke(null, [Env.Simulator.Address])!;
        await using var dispatcher = new Host<GovSg.Dispatcher.Program>(settings, kestrel: true).Start();
        // Stopped while its bus is still starting, a host would leave the bus's consumers on the shared queues once that
        // start completes, on a disposed container: they would fault the commands and statuses of every later test.
        await TestSystem.WaitForBusAsync(dispatcher.Services);
        using var http = new HttpClient { BaseAddress = dispatcher.Address };

        using var response = await http.GetAsync("health/live");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.Server, Is.Empty, $"Server: {response.Headers.Server}");
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True, $"Cache-Control: {response.Headers.CacheControl}");
        Assert.That(response.Headers.TryGetValues("X-Content-Type-Options", out var sniff) ? sniff.Single() : null, Is.EqualTo("nosniff"));
    }
}
