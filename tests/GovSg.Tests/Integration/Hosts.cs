using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace GovSg.Tests.Integration;

/// <summary>
/// Hosts one of our executables in the test process with the given settings (and, rarely, a service replaced to provoke
/// what a test looks for).
/// </summary>
public sealed class Host<TEntryPoint>(IReadOnlyDictionary<string, string?> settings, bool kestrel,
    Action<IServiceCollection>? services = null)
    : WebApplicationFactory<TEntryPoint> where TEntryPoint : class
{
    /// <summary>Starts the host; with Kestrel, on a free loopback port that other hosts can call.</summary>
    public Host<TEntryPoint> Start()
    {
        if (kestrel)
        {
            UseKestrel(0);
        }

        StartServer();
        return this;
    }

    /// <summary>The real address, when hosted on Kestrel.</summary>
    public Uri Address => new(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()
        .Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Test");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        if (services is not null)
        {
            builder.ConfigureServices(services);
        }
    }
}
