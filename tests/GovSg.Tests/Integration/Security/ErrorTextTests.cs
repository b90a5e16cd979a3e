using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// Provider error texts can carry a recipient's number or a message's content: logs hold their code and a fingerprint
/// (SPEC §9.1). Agencies read error_description, which never names our exception types.
/// </summary>
[NonParallelizable]
public sealed class ErrorTextTests
{
    private const string Marker = "6599990000-marker";

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Dispatcher_RetryingAProviderError_LogsItsCodeButNotItsText()
    {
        var logs = new LogCapture();
        await using var dispatcher = await Env.StartDispatcherAsync(services: s => s.AddSingleton<ILoggerProvider>(logs));
        var user = await Env.CreateUserAsync(grants: [3]);
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new
        {
            send_error = new { http_status = 500, code = 131000, details = $"Recipient {Marker} could not be reached" },
            fail_times = 1_000,
        });

        for (var i = 0; i < 4; i++)
        {
            await MessageJson.PostRawAsync(user.Client, $$"""{"recipient":"{{local}}","template_id":3}""");
        }

        var lines = await Poll.UntilAsync(() => Task.FromResult(logs.Lines),
            l => l.Any(line => line.Contains("code 131000", StringComparison.Ordinal)), TimeSpan.FromSeconds(10));

        Assert.That(lines, Has.Some.Contains("code 131000"), "this dispatcher logged a retry");
        Assert.That(lines, Has.None.Contains(Marker));
    }

    [Test]
    public async Task Message_FailingInsideTheDispatcher_DoesNotShowTheAgencyAnExceptionType()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        var (local, digits) = TestRecipients.Next();
        await Env.SetRecipientRuleAsync(digits, new { send_error = new { http_status = 400, code = 131056 }, fail_times = 1 });
        var (_, message) = await MessageJson.PostRawAsync(user.Client, $$"""{"recipient":"{{local}}","template_id":3}""");
        var id = long.Parse(message.Str("id"), System.Globalization.CultureInfo.InvariantCulture);
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            // Waiting for its retry, the message is damaged so that the next attempt fails inside the Dispatcher.
            await Poll.UntilAsync(() => connection.ExecuteScalarAsync<int>("SELECT attempts FROM messages WHERE id = @id", new { id }),
                attempts => attempts > 0);
            await connection.ExecuteAsync("UPDATE messages SET param_order = ARRAY['missing'] WHERE id = @id", new { id });
        }

        var failed = await MessageJson.WaitForStatusAsync(user.Client, message.Str("id"), "ERROR");

        Assert.That(failed.Str("status"), Is.EqualTo("ERROR"));
        Assert.That(failed.Str("error_description"), Does.Contain("Unexpected failure").And.Not.Contain("Exception"));
    }
}
