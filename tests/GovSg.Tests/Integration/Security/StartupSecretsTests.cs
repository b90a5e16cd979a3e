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
