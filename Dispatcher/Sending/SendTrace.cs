using System.Diagnostics;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// The accepted call's span as <c>messages.send_trace</c> keeps it: a W3C <c>traceparent</c>, so that the statuses
/// the provider reports on the call can link their trace to the send's (SPEC §9.1).
/// </summary>
public static class SendTrace
{
    /// <summary>Null when the call was not traced.</summary>
    public static string? Format(ActivityContext call) =>
        call == default
            ? null
            : $"00-{call.TraceId}-{call.SpanId}-{(call.TraceFlags.HasFlag(ActivityTraceFlags.Recorded) ? "01" : "00")}";

    public static ActivityContext? Parse(string traceParent) =>
        ActivityContext.TryParse(traceParent, null, out var call) ? call : null;
}
