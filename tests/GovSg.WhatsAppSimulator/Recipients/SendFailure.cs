using GovSg.WhatsAppSimulator.Messages;

namespace GovSg.WhatsAppSimulator.Recipients;

/// <summary>
/// How a scripted send fails: with Meta's JSON error, or, when <paramref name="Error"/> is null, with the bare
/// status and HTML page a proxy or load balancer in front of Meta would answer.
/// </summary>
internal sealed record SendFailure(int HttpStatus, GraphError? Error);
