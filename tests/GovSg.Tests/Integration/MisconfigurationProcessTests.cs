using System.Diagnostics;

namespace GovSg.Tests.Integration;

/// <summary>
/// Settings that fail validation, or cannot be read at all, stop the executable with exit code 1 and one line naming
/// them (SPEC §9.1 "validated at start with a clear message"; ServiceHost), not an abort with exit code 134 and a core
/// dump on every restart of a crash loop. Run as Kubernetes runs them: the executables themselves.
/// </summary>
public sealed class MisconfigurationProcessTests
{
    [Test]
    public async Task ApiProcess_WithAShortVerifyToken_ExitsWithCode1AndOneLineNamingTheSetting()
    {
        // A secret that fails validation (SPEC §9.1), as Kubernetes runs the executable.
        var (code, written) = await RunAsync("Api", ApiSettings(("Webhooks__VerifyToken", "guessable")));

        AssertRefusedNaming(code, written, "Webhooks:VerifyToken");
    }

    [Test]
    public async Task ApiProcess_WithADurationWrittenAsFiveSeconds_ExitsWithCode1AndOneLineNamingTheSetting()
    {
        // "5s" is what an operator used to Go or Kubernetes writes; TimeSpan wants 00:00:05.
        var (code, written) = await RunAsync("Api", ApiSettings(("Database__StatementTimeout", "5s")));

        AssertRefusedNaming(code, written, "Database:StatementTimeout");
    }

    [Test]
    public async Task ApiProcess_WithAMisspeltConnectionStringKeyword_ExitsWithCode1AndOneLineNamingTheSetting()
    {
        var (code, written) = await RunAsync("Api",
            ApiSettings(("ConnectionStrings__Postgres", "Host=127.0.0.1;Port=1;Database=govsg;Username=govsg;Password=govsg;Tmeout=2")));

        AssertRefusedNaming(code, written, "ConnectionStrings:Postgres");
    }

    [Test]
    public async Task DispatcherProcess_WithAProviderTimeoutWrittenAsTenSeconds_ExitsWithCode1AndOneLineNamingTheSetting()
    {
        var (code, written) = await RunAsync("Dispatcher", DispatcherSettings(("WhatsApp__Timeout", "10s")));

        AssertRefusedNaming(code, written, "WhatsApp:Timeout");
    }

    [Test]
    public async Task ApiProcess_WithATlsCaCertificateFileThatHoldsNoCertificate_ExitsWithCode1AndOneLineNamingTheSetting()
    {
        // README "Operating it": "Settings that fail validation stop either service with exit code 1 and one critical log
        // line naming them"; SPEC §9.1 "validated at start with a clear message". A file that is there but holds no PEM
        // certificate (a key, an empty file, a DER file) is as wrong as a missing one, which is refused at start.
        var file = Path.Combine(Path.GetTempPath(), $"govsg-not-a-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(file, "this is not a certificate\n");
        try
        {
            var (code, written) = await RunAsync("Api",
                ApiSettings(("RabbitMq__UseTls", "true"), ("RabbitMq__TlsCaCertificate", file)));

            AssertRefusedNaming(code, written, "RabbitMq:TlsCaCertificate");
        }
        finally
        {
            File.Delete(file);
        }
    }

    // What only building a data source refuses (found by a review of the check above): no host, a maximum pool under the
    // minimum. The Dispatcher's hosted services build it at start.
    [TestCase("Database=govsg;Username=govsg;Password=govsg")]
    [TestCase("Host=127.0.0.1;Port=1;Database=govsg;Username=govsg;Password=govsg;Minimum Pool Size=10;Maximum Pool Size=5")]
    public async Task DispatcherProcess_WithAConnectionStringNpgsqlCannotBuild_ExitsWithCode1AndOneLineNamingTheSetting(string connectionString)
    {
        var (code, written) = await RunAsync("Dispatcher",
            DispatcherSettings(("ConnectionStrings__Postgres", connectionString), ("PGHOST", "")));

        AssertRefusedNaming(code, written, "ConnectionStrings:Postgres");
    }

    [TestCase("Dispatcher", "WhatsApp__PhoneNumberId", "WhatsApp:PhoneNumberId")]
    [TestCase("Api", "Webhooks__PhoneNumberId", "Webhooks:PhoneNumberId")]
    [TestCase("Api", "ConnectionStrings__Postgres", "ConnectionStrings:Postgres")]
    [TestCase("Dispatcher", "ConnectionStrings__Postgres", "ConnectionStrings:Postgres")]
    [TestCase("Api", "RabbitMq__Username", "RabbitMq:Username")]
    [TestCase("Dispatcher", "RabbitMq__Password", "RabbitMq:Password")]
    public async Task ServiceAsShipped_WithoutASettingItHasNoSafeDefaultFor_ExitsWithCode1AndOneLineNamingTheSetting(
        string service, string variable, string setting)
    {
        // deploy/k8s/README.md: the sender number's id "ships as REPLACE_ME, which both services refuse at start, so no
        // pod calls Meta for a number that is not yours". Nor may a deployment that leaves it out start on an example id
        // of the image's own, or one that leaves out its database or broker user start on credentials the image ships
        // (SPEC §9.1: no secrets in the repository; an outside review found a Dispatcher so started on guest/guest
        // consuming another system's queues).
        var settings = service == "Api" ? ApiSettings() : DispatcherSettings();
        settings.Remove(variable);

        var (code, written) = await RunAsync(service, settings);

        AssertRefusedNaming(code, written, setting);
    }

    [TestCase("Api")]
    [TestCase("Dispatcher")]
    public async Task ServiceAsShipped_WithoutAnyOfItsRequiredSettings_NamesThemAllInOneLine(string service)
    {
        // README: settings that fail validation stop the service with "one critical log line naming them". The bus and
        // the database are configured before the host starts, and their settings were once named alone, one restart
        // at a time.
        string[] required = service == "Api"
            ? ["ConnectionStrings:Postgres", "RabbitMq:Username", "RabbitMq:Password", "Auth:KeyPepper", "Webhooks:VerifyToken",
               "Webhooks:AppSecrets", "Webhooks:PhoneNumberId"]
            : ["ConnectionStrings:Postgres", "RabbitMq:Username", "RabbitMq:Password", "WhatsApp:PhoneNumberId"];
        var settings = service == "Api" ? ApiSettings() : DispatcherSettings();
        foreach (var name in required)
        {
            settings.Remove(name.Replace(":", "__", StringComparison.Ordinal) + (name == "Webhooks:AppSecrets" ? "__0" : ""));
        }

        var (code, written) = await RunAsync(service, settings);

        Assert.That(code, Is.EqualTo(1), Tail(written));
        var lines = written.Split('\n').Where(line => line.Contains("Invalid configuration, not starting", StringComparison.Ordinal)).ToList();
        Assert.That(lines, Has.Count.EqualTo(1), Tail(written));
        Assert.That(required.Where(name => !lines[0].Contains(name, StringComparison.Ordinal)), Is.Empty, "settings the line left out");
        Assert.That(written, Does.Not.Contain("Hosting failed to start"));
    }

    [TestCase("Api")]
    [TestCase("Dispatcher")]
    public async Task Service_WhosePortIsTaken_ExitsWithCode1AndOneLineSayingSo(string service)
    {
        // A crash loop's every restart would otherwise abort with an unhandled exception (exit code 134, a core dump).
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var taken = $"http://127.0.0.1:{((System.Net.IPEndPoint)holder.LocalEndpoint).Port}";
        var settings = service == "Api" ? ApiSettings() : DispatcherSettings();
        settings["ASPNETCORE_URLS"] = taken;
        settings["Urls"] = taken;

        var (code, written) = await RunAsync(service, settings);

        Assert.That(code, Is.EqualTo(1), Tail(written));
        Assert.That(written, Does.Contain("Cannot listen, not starting").And.Contain("address already in use"));
        Assert.That(written, Does.Not.Contain("Unhandled exception"));
    }

    private static void AssertRefusedNaming(int code, string written, string setting)
    {
        Assert.That(code, Is.EqualTo(1), Tail(written));
        Assert.That(written, Does.Contain("Invalid configuration, not starting").And.Contain(setting));
        Assert.That(written, Does.Not.Contain("Unhandled exception"));
    }

    private static Dictionary<string, string> DispatcherSettings(params (string Key, string Value)[] overrides) =>
        WithOverrides(new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = TestSettings.UnreachablePostgres,
            ["RabbitMq__Port"] = "1",
            ["RabbitMq__Username"] = TestSettings.RabbitUsername,
            ["RabbitMq__Password"] = TestSettings.RabbitPassword,
            ["WhatsApp__PhoneNumberId"] = TestSettings.PhoneNumberId,
            ["WhatsApp__AccessToken"] = TestSettings.AccessToken,
            ["WhatsApp__BaseUrl"] = "https://graph.facebook.com/",
        }, overrides);

    private static Dictionary<string, string> ApiSettings(params (string Key, string Value)[] overrides) =>
        WithOverrides(new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = TestSettings.UnreachablePostgres,
            ["RabbitMq__Port"] = "1",
            ["RabbitMq__Username"] = TestSettings.RabbitUsername,
            ["RabbitMq__Password"] = TestSettings.RabbitPassword,
            ["Auth__KeyPepper"] = TestSettings.Pepper,
            ["Webhooks__VerifyToken"] = TestSettings.VerifyToken,
            ["Webhooks__AppSecrets__0"] = TestSettings.AppSecret,
            ["Webhooks__PhoneNumberId"] = TestSettings.PhoneNumberId,
        }, overrides);

    private static Dictionary<string, string> WithOverrides(Dictionary<string, string> settings, (string Key, string Value)[] overrides)
    {
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static string Tail(string written) => written.Length > 1500 ? written[..1500] : written;

    /// <summary>
    /// Runs the service from its own build output, with the appsettings.json its image ships (the test binaries' folder
    /// holds the simulator's).
    /// </summary>
    private static async Task<(int Code, string Written)> RunAsync(string service, Dictionary<string, string> settings)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net10.0
        var directory = Path.Combine(TestSettings.RepositoryRoot, service, "bin", configuration, "net10.0");
        var start = new ProcessStartInfo("dotnet", [Path.Combine(directory, $"GovSg.{service}.dll")])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["Urls"] = "http://127.0.0.1:0";
        // No core file per run on this machine; the exit code is what Kubernetes sees either way.
        start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output + await error);
    }
}
