using System.Diagnostics;
using System.Net;
using System.Text;
using GovSg.Api.Messages;
using Microsoft.Extensions.Options;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// What one agency can hold of a replica (SPEC §7): database work per request is bounded by statement_timeout, and at
/// most 20 <c>Prefer: wait</c> requests per user are held at once.
/// </summary>
[NonParallelizable]
public sealed class RequestBoundsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(4);

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Read_WhenTheDatabaseCannotAnswerInTime_Answers503WithinTheStatementTimeout()
    {
        var user = await Env.CreateUserAsync();
        var api = Env.StartApi(new Dictionary<string, string?> { ["Database:StatementTimeout"] = "00:00:00.500" });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", user.Key);
        await MessageJson.GetAsync(client, "v1/govsg/templates");

        await using var connection = await Env.Database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        var read = MessageJson.GetAsync(client, "v1/transactional/govsg/1");
        var answeredInTime = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(15))) == read;
        await transaction.RollbackAsync();

        Assert.That(answeredInTime, Is.True, "the read waited for the lock instead of timing out");
        var (response, error) = await read;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(error.Str("code"), Is.EqualTo("service_unavailable"));
    }

    [Test]
    public void Start_WithAStatementTimeoutOutOfRange_Refuses()
    {
        var start = () => Env.StartApi(new Dictionary<string, string?> { ["Database:StatementTimeout"] = "01:00:00" });

        Assert.That(start, Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("StatementTimeout"));
    }

    [Test]
    public async Task PreferWait_BeyondTwentyHeldByOneUser_IsAnsweredAtOnceWithoutWaiting()
    {
        var user = await Env.CreateUserAsync(grants: [3]);
        await TimedSendAsync(user, TestRecipients.Next().Local);
        var (local, digits) = TestRecipients.Next();
        // The provider takes each message but answers after the Dispatcher's 2 s timeout and reports no status, so every
        // message stays UNSENT, held to reconcile its call, for more than the 4 s the requests wait: every hold lasts its
        // whole wait, and all of them are held at once however slowly the machine lets them in.
        const int requests = StatusWaiter.MaxWaitsPerUser + 5;
        await Env.SetRecipientRuleAsync(digits, new { extra_delay_ms = 2_500, delay_times = requests, webhooks = "none" });

        var answers = await Task.WhenAll(Enumerable.Range(0, requests).Select(_ => TimedSendAsync(user, local)));

        var held = answers.Where(a => a.Response.Headers.Contains("Preference-Applied")).ToList();
        var notHeld = answers.Where(a => !a.Response.Headers.Contains("Preference-Applied")).ToList();
        Assert.That(answers.Select(a => a.Response.StatusCode), Is.All.EqualTo(HttpStatusCode.Created));
        Assert.That(held, Has.Count.EqualTo(StatusWaiter.MaxWaitsPerUser));
        Assert.That(held.Select(a => a.Elapsed), Is.All.GreaterThanOrEqualTo(Wait), "each hold lasted its whole wait");
        Assert.That(notHeld.Max(a => a.Elapsed), Is.LessThan(held.Min(a => a.Elapsed)), "answered without waiting");
    }

    private static async Task<(HttpResponseMessage Response, TimeSpan Elapsed)> TimedSendAsync(TestUser user, string recipient)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MessageJson.SendPath)
        {
            Content = new StringContent($$"""{"recipient":"{{recipient}}","template_id":3}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Prefer", $"wait={Wait.TotalSeconds}");
        var clock = Stopwatch.StartNew();
        var (response, _) = await MessageJson.SendAsync(user.Client, request);
        return (response, clock.Elapsed);
    }
}
