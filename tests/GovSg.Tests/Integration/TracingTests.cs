using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GovSg.Tests.Integration;

/// <summary>One trace follows a message from the POST through RabbitMQ and the Dispatcher to the provider call.</summary>
[NonParallelizable]
public sealed class TracingTests
{
    private static readonly ActivitySource Source = new("GovSg.Tests");

    [Test]
    public async Task Send_ProducesOneTraceFromThePostThroughTheBrokerToTheProviderCall()
    {
        var env = TestEnvironment.Current;
        var activities = new ConcurrentBag<Activity>();
        using var listener = Record(activities, "Microsoft.AspNetCore", "MassTransit", "System.Net.Http", "Npgsql", "GovSg.Dispatcher");
        var user = await env.CreateUserAsync();
        var (local, _) = TestRecipients.Next();

        var (_, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(local));
        await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "ACCEPTED", "SENT", "DELIVERED", "READ");

        var post = activities.Single(a => a.DisplayName == "POST /v1/transactional/govsg/send"
                                          && a.GetTagItem("govsg.message_id") is long id && id.ToString(System.Globalization.CultureInfo.InvariantCulture) == body.Str("id"));
        var trace = await Poll.UntilAsync(
            () => Task.FromResult(activities.Where(a => a.TraceId == post.TraceId).ToList()),
            spans => spans.Any(IsProviderCall));
        Assert.That(trace.Select(a => a.Source.Name).Distinct(),
            Is.SupersetOf(new[] { "Microsoft.AspNetCore", "MassTransit", "GovSg.Dispatcher", "System.Net.Http", "Npgsql" }));
        Assert.That(trace.Any(a => a.Source.Name == "MassTransit" && a.Kind == ActivityKind.Producer), Is.True, "the publish span");
        var send = trace.Single(a => a.Source.Name == "GovSg.Dispatcher"
                                     && a.GetTagItem("govsg.message_id") is long id && id == long.Parse(body.Str("id"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(trace.Where(IsProviderCall).Select(a => a.ParentSpanId), Has.Member(send.SpanId), "the provider call under the send span");
        Assert.That(trace.SelectMany(a => a.TagObjects).Select(t => t.Value?.ToString() ?? ""), Has.None.Contains(local),
            "no phone number in any span");
    }

    [Test]
    public async Task ConcurrentSends_ShareCommandPublishes_AndEachMessageKeepsItsOwnTrace()
    {
        var env = TestEnvironment.Current;
        var activities = new ConcurrentBag<Activity>();
        using var listener = Record(activities, "Microsoft.AspNetCore", "GovSg.Api", "GovSg.Dispatcher");
        var user = await env.CreateUserAsync();
        // A publish that outlasts the 1 s timeout (a slow moment on a loaded machine) waits for the drain, which sends
        // the command in a trace of its own: that path is the broker outage's, not this test's.
        var api = env.StartApi(new Dictionary<string, string?> { ["RabbitMq:PublishTimeout"] = "00:00:30" });
        await TestSystem.WaitForBusAsync(api.Services);
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = user.Client.DefaultRequestHeaders.Authorization;

        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
            Assert.That((int)response.StatusCode, Is.EqualTo(201));
            return long.Parse(body.Str("id"), System.Globalization.CultureInfo.InvariantCulture);
        }));

        var sends = await Poll.UntilAsync(
            () => Task.FromResult(activities.Where(a => a.DisplayName == "send message" && a.GetTagItem("govsg.message_id") is long id && ids.Contains(id)).ToList()),
            spans => spans.Count >= ids.Length);
        var posts = activities.Where(a => a.DisplayName == "POST /v1/transactional/govsg/send" && a.GetTagItem("govsg.message_id") is long id && ids.Contains(id))
            .ToDictionary(a => (long)a.GetTagItem("govsg.message_id")!, a => a.TraceId);
        Assert.That(activities.Where(a => a.DisplayName == "publish commands").Select(a => (int)a.GetTagItem("govsg.messages")!).Max(),
            Is.GreaterThan(1), "commands of concurrent sends went out together");
        Assert.That(sends.Select(s => (s.TraceId, posts[(long)s.GetTagItem("govsg.message_id")!])), Has.All.Matches<(ActivityTraceId Send, ActivityTraceId Post)>(t => t.Send == t.Post),
            "every message is sent in the trace of its own POST");
    }

    [Test]
    public async Task Webhook_AppliesStatusesInItsOwnTrace_LinkedToTheSendsProviderCall()
    {
        var env = TestEnvironment.Current;
        var activities = new ConcurrentBag<Activity>();
        using var listener = Record(activities, "Microsoft.AspNetCore", "MassTransit", "GovSg.Dispatcher");
        var user = await env.CreateUserAsync();
        var (local, _) = TestRecipients.Next();

        var (_, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(local));
        await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "READ");

        var send = activities.Single(a => a.DisplayName == "send message"
                                          && a.GetTagItem("govsg.message_id") is long id && id == long.Parse(body.Str("id"), System.Globalization.CultureInfo.InvariantCulture));
        var applied = await Poll.UntilAsync(
            () => Task.FromResult(activities.Where(a => a.DisplayName == "apply statuses" && a.Links.Any(l => l.Context.SpanId == send.SpanId)).ToList()),
            spans => spans.Count > 0);
        Assert.That(applied, Is.Not.Empty, "a status span links to the accepted call's span");
        Assert.That(applied.SelectMany(a => a.Links).Where(l => l.Context.SpanId == send.SpanId).Select(l => l.Context.TraceId),
            Is.All.EqualTo(send.TraceId));
        var webhookTraces = activities.Where(a => a.DisplayName.StartsWith("POST /v1/callback/govsg", StringComparison.Ordinal)).Select(a => a.TraceId).ToHashSet();
        Assert.That(applied.Select(a => a.TraceId), Is.All.Not.EqualTo(send.TraceId).And.All.Matches<ActivityTraceId>(webhookTraces.Contains),
            "statuses are applied in the trace of the webhook that brought them");
    }

    [Test]
    public async Task Requests_AreTaggedWithTheCallerAndHealthProbesAreNotRecorded()
    {
        var env = TestEnvironment.Current;
        var activities = new ConcurrentBag<Activity>();
        using var listener = Record(activities, "Microsoft.AspNetCore", "GovSg.Tests");
        var user = await env.CreateUserAsync();

        var probe = await GetInTraceAsync(user.Client, "health/ready");
        var templates = await GetInTraceAsync(user.Client, "v1/govsg/templates");

        // The probe was answered first, so its span (if any) has ended by the time the later request's has.
        var request = await Poll.UntilAsync(() => Task.FromResult(activities.FirstOrDefault(a => a.TraceId == templates && a.Source.Name == "Microsoft.AspNetCore")), a => a is not null);
        Assert.That(request!.DisplayName, Is.EqualTo("GET /v1/govsg/templates"));
        Assert.That(request.GetTagItem("govsg.user_id"), Is.EqualTo(user.Id));
        var health = activities.Where(a => a.TraceId == probe && a.Source.Name == "Microsoft.AspNetCore").ToList();
        Assert.That(health, Is.Not.Empty);
        Assert.That(health.Select(a => a.Recorded), Is.All.False, "health probes are filtered out of the traces");
    }

    [Test]
    public async Task Requests_WithAPhoneNumberInTheirPath_LeaveItInNoSpanAndNoLogLine()
    {
        // SPEC §9.1: logs and traces never hold a full phone number. A path holds whatever a caller puts there: a
        // recipient where a message id belongs, with or without a key (an outside review found it in the logs, in the
        // request scope of the failed authentication's lines).
        var env = TestEnvironment.Current;
        var activities = new ConcurrentBag<Activity>();
        using var listener = Record(activities, "Microsoft.AspNetCore");
        var logs = new Security.LogCapture();
        var api = env.StartApi(new Dictionary<string, string?>(), services => services.AddSingleton<ILoggerProvider>(logs));
        var user = await env.CreateUserAsync();
        var (local, digits) = TestRecipients.Next();
        using var client = api.CreateClient();
        string[] paths = [$"v1/transactional/govsg/{local}", $"v1/transactional/govsg/{digits}", $"v1/{digits}"];

        var answers = new List<int>();
        foreach (var authorization in new[] { null, "Bearer gsg_0000000000000000_nothing", user.Client.DefaultRequestHeaders.Authorization!.ToString() })
        {
            foreach (var path in paths)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
                using var response = await client.SendAsync(request);
                answers.Add((int)response.StatusCode);
            }
        }

        Assert.That(answers, Has.Member(401).And.All.InRange(400, 499), "the requests reached the Api");
        Assert.That(logs.Lines, Has.None.Contains(digits), "no log line or its scope holds the number");
        var spans = await Poll.UntilAsync(() => Task.FromResult(activities.Where(a => a.Recorded).ToList()), a => a.Count >= answers.Count);
        Assert.That(spans.Count, Is.GreaterThanOrEqualTo(answers.Count), "every request was traced");
        Assert.That(spans.SelectMany(a => a.TagObjects).Select(t => t.Value?.ToString() ?? "").Concat(spans.Select(a => a.DisplayName)),
            Has.None.Contains(digits), "no span holds the number");
    }

    /// <summary>Records, into <paramref name="activities"/>, every span of <paramref name="sources"/> that ends while it lives.</summary>
    private static ActivityListener Record(ConcurrentBag<Activity> activities, params string[] sources)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => sources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>Makes the request inside a trace of its own, whose id it returns.</summary>
    private static async Task<ActivityTraceId> GetInTraceAsync(HttpClient client, string path)
    {
        using var trace = Source.StartActivity(path, ActivityKind.Client)!;
        using var response = await client.GetAsync(path);
        Assert.That(response.IsSuccessStatusCode, Is.True, path);
        return trace.TraceId;
    }

    private static bool IsProviderCall(Activity activity) =>
        activity.Source.Name == "System.Net.Http" && (activity.GetTagItem("url.full") as string ?? "").EndsWith("/messages", StringComparison.Ordinal);
}
