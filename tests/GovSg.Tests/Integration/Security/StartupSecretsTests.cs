using System.Net;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration.Security;

/// <summary>Secrets are validated at start (SPEC §9.1): a service with a guessable secret refuses to run.</summary>
public sealed class StartupSecretsTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [TestCase("Webhooks:AppSecrets:0", "", "Webhooks:AppSecrets:0")]
    [TestCase("Webhooks:AppSecrets:0", "short-secret", "Webhooks:AppSecrets:0")]
    [TestCase("Webhooks:AppSecrets:1", "short-secret", "Webhooks:AppSecrets:1")]
    [TestCase("Webhooks:VerifyToken", "", "Webhooks:VerifyToken")]
    [TestCase("Webhooks:VerifyToken", "guessable", "Webhooks:VerifyToken")]
    public void Api_WithAnEmptyOrShortWebhookSecret_RefusesToStart(string setting, string value, string named)
    {
        var start = () => Env.StartApi(new Dictionary<string, string?> { [setting] = value });

        Assert.That(start, Throws.InstanceOf<OptionsValidationException>().With.Message.Contains(named));
    }

    [Test]
    public void Api_WithAnotherKeyPepperThanTheDatabaseRecorded_RefusesToStart()
    {
        // Every key it verified would fail: 401 for every agency, from a replica that looks healthy.
        var start = () => Env.StartApi(new Dictionary<string, string?> { ["Auth:KeyPepper"] = "another-pepper-0123456789abcdef0123456789" });

        Assert.That(start, Throws.InstanceOf<OptionsValidationException>()
            .With.Message.Contains("Auth:KeyPepper (env Auth__KeyPepper) is not the pepper this database's API keys were made with"));
    }

    [Test]
    public async Task ApiProcess_WithAShortVerifyToken_ExitsWithCode1AndOneLineNamingTheSetting()
    {
        // The executable itself, as Kubernetes runs it: a refusal must not be an abort (134) with a core dump per restart.
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "GovSg.Api.dll")])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Every other setting valid, whichever referenced project's appsettings.json the test binaries hold.
            Environment =
            {
                ["Webhooks__VerifyToken"] = "guessable",
                ["ConnectionStrings__Postgres"] = TestSettings.UnreachablePostgres,
                ["Auth__KeyPepper"] = TestSettings.Pepper,
                ["Webhooks__AppSecrets__0"] = TestSettings.AppSecret,
                ["Webhooks__PhoneNumberId"] = TestSettings.PhoneNumberId,
                ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            },
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var written = await output + await error;

        Assert.That(process.ExitCode, Is.EqualTo(1), written);
        Assert.That(written, Does.Contain("Invalid configuration, not starting").And.Contain("Webhooks:VerifyToken"));
        Assert.That(written, Does.Not.Contain("Unhandled exception"));
    }

    [Test]
    public async Task Services_WithAPlaceholderPhoneNumberId_RefuseToStartNamingTheSetting()
    {
        var api = () => Env.StartApi(new Dictionary<string, string?> { ["Webhooks:PhoneNumberId"] = "REPLACE_ME" });
        var dispatcher = () => Env.StartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:PhoneNumberId"] = "REPLACE_ME" });

        Assert.That(api, Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("Webhooks:PhoneNumberId must be"));
        await Assert.ThatAsync(dispatcher, Throws.InstanceOf<OptionsValidationException>()
            .With.Message.Contains("WhatsApp:PhoneNumberId must be"));
    }

    [TestCase("")]
    [TestCase("test-verify-token")]
    [TestCase(TestSettings.VerifyToken + "x")]
    public async Task Verify_WithAWrongToken_IsRefused(string token)
    {
        using var response = await Env.Client(null).GetAsync(
            $"{Webhooks.Path}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=42");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task Dispatcher_WithAProviderUrlThatIsNotAUrl_RefusesToStartNamingTheSetting()
    {
        var start = () => Env.StartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:BaseUrl"] = "not-a-url" });

        await Assert.ThatAsync(start, Throws.InstanceOf<OptionsValidationException>()
            .With.Message.Contains("WhatsApp:BaseUrl must be an absolute https URL, not \"not-a-url\""));
    }

    [Test]
    public async Task Dispatcher_WithAPlainHttpProviderUrl_AndNoLocalRunSetting_RefusesToStart()
    {
        var start = () => Env.StartDispatcherAsync(new Dictionary<string, string?> { ["WhatsApp:AllowInsecureBaseUrl"] = "false" });

        await Assert.ThatAsync(start, Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("must be https"));
    }
}
