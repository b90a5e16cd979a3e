using System.Collections.Concurrent;
using System.Diagnostics;

namespace GovSg.Tests.Integration;

/// <summary>One trace follows a message from the POST through RabbitMQ and the Dispatcher to the provider call.</summary>
[NonParallelizable]
public sealed class TracingTests
{
    [Test]
    public async Task Send_ProducesOneTraceFromThePostThroughTheBrokerToTheProviderCall()
    {
        var env = TestEnvironment.Current;
        var activities = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or "MassTransit" or "System.Net.Http" or "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(listener);
        var user = await env.CreateUserAsync();
        var (local, _) = TestRecipients.Next();

        var (_, body) = await MessageJson.PostAsync(user.Client, MessageJson.OfficerCall(local));
        await MessageJson.WaitForStatusAsync(user.Client, body.Str("id"), "ACCEPTED", "SENT", "DELIVERED", "READ");

        var post = activities.Single(a => a.DisplayName == "POST /v1/transactional/govsg/send"
                                          && a.GetTagItem("govsg.message_id") is long id && id.ToString(System.Globalization.CultureInfo.InvariantCulture) == body.Str("id"));
        var trace = await Poll.UntilAsync(
            () => Task.FromResult(activities.Where(a => a.TraceId == post.TraceId).ToList()),
            spans => spans.Any(IsProviderCall));
        Assert.That(trace.Select(a => a.Source.Name).Distinct(), Is.SupersetOf(new[] { "Microsoft.AspNetCore", "MassTransit", "System.Net.Http", "Npgsql" }));
        Assert.That(trace.Any(a => a.Source.Name == "MassTransit" && a.Kind == ActivityKind.Consumer
                                   && a.GetTagItem("govsg.message_id") is long id && id == long.Parse(body.Str("id"), System.Globalization.CultureInfo.InvariantCulture)),
            Is.True, "the consume span, tagged with the message id");
        Assert.That(trace.Any(IsProviderCall), Is.True, "the provider call span");
        Assert.That(trace.SelectMany(a => a.TagObjects).Select(t => t.Value?.ToString() ?? ""), Has.None.Contains(local),
            "no phone number in any span");
    }

    private static bool IsProviderCall(Activity activity) =>
        activity.Source.Name == "System.Net.Http" && (activity.GetTagItem("url.full") as string ?? "").EndsWith("/messages", StringComparison.Ordinal);
}
