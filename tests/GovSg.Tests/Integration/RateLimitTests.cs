using System.Net;
using Dapper;

namespace GovSg.Tests.Integration;

public sealed class RateLimitTests
{
    private const string Body = """{"recipient":"91234567","template_id":3}""";

    private static TestSystem Env => TestEnvironment.Current;

    // Fixed one-second windows: a dozen quick requests span at most two windows, which bounds what each may admit.
    [Test]
    public async Task Send_BeyondTheUsersLimit_Answers429WithRetryAfterAndStoresNothingForIt()
    {
        var user = await Env.CreateUserAsync(rateLimit: 3);

        var answers = new List<(HttpResponseMessage Response, System.Text.Json.JsonElement Body)>();
        for (var i = 0; i < 12; i++)
        {
            answers.Add(await MessageJson.PostRawAsync(user.Client, Body));
        }

        var created = answers.Count(a => a.Response.StatusCode == HttpStatusCode.Created);
        var limited = answers.Where(a => a.Response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.That(created + limited.Count, Is.EqualTo(12));
        Assert.That(created, Is.InRange(3, 6));
        Assert.That(limited.Select(a => a.Body.Str("code")), Is.All.EqualTo("rate_limit"));
        Assert.That(limited.Select(a => a.Response.Headers.RetryAfter?.Delta), Is.All.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(limited.Select(a => a.Response.Headers.GetValues("RateLimit-Remaining").Single()), Is.All.EqualTo("0"));
        Assert.That(answers.Select(a => a.Response.Headers.GetValues("RateLimit-Limit").Single()), Is.All.EqualTo("3"));
        Assert.That(answers.Select(a => a.Response.Headers.GetValues("RateLimit-Reset").Single()), Is.All.EqualTo("1"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(created));
    }

    [Test]
    public async Task Send_WhenOverTheLimit_RefusesBeforeLookingAtTheBody()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1);

        var answers = new List<(HttpResponseMessage Response, System.Text.Json.JsonElement Body)>();
        for (var i = 0; i < 6; i++)
        {
            answers.Add(await MessageJson.PostRawAsync(user.Client, "{not json"));
        }

        var codes = answers.Select(a => a.Body.Str("code")).ToList();
        Assert.That(codes.Count(c => c == "rate_limit"), Is.GreaterThanOrEqualTo(4));
        Assert.That(codes.Count(c => c == "malformed"), Is.InRange(1, 2));
    }

    [Test]
    public async Task Send_WhenReplayingAnIdempotentRequestOverTheLimit_IsNotRefused()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1);
        var (first, original) = await PostWithKeyAsync(user, "replay-over-limit");
        for (var i = 0; i < 3; i++)
        {
            await MessageJson.PostRawAsync(user.Client, Body);
        }

        var (replay, replayed) = await PostWithKeyAsync(user, "replay-over-limit");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(replay.Headers.GetValues("Idempotency-Replayed").Single(), Is.EqualTo("true"));
        Assert.That(replayed.Str("id"), Is.EqualTo(original.Str("id")));
    }

    [Test]
    public async Task Send_WhenTheIdempotencyKeyIsOlderThanItsWindow_IsLimitedLikeANewSend()
    {
        var user = await Env.CreateUserAsync(rateLimit: 1);
        var (_, original) = await PostWithKeyAsync(user, "stale-key");
        await using (var connection = await Env.Database.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE messages SET created_at = created_at - interval '25 hours' WHERE id = @id",
                new { id = long.Parse(original.Str("id"), System.Globalization.CultureInfo.InvariantCulture) });
        }

        // Use up this second's allowance, so the next send is refused unless it is a replay.
        var refused = false;
        for (var i = 0; i < 20 && !refused; i++)
        {
            refused = (await MessageJson.PostRawAsync(user.Client, Body)).Response.StatusCode == HttpStatusCode.TooManyRequests;
        }

        var (again, _) = await PostWithKeyAsync(user, "stale-key");

        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "a key past its 24 h window is not a replay");
    }

    private static Task<(HttpResponseMessage, System.Text.Json.JsonElement)> PostWithKeyAsync(TestUser user, string key) =>
        MessageJson.PostAsync(user.Client, System.Text.Json.JsonDocument.Parse(Body).RootElement,
            request => request.Headers.Add("Idempotency-Key", key));
}
