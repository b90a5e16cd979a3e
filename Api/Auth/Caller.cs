using System.Reflection;

namespace GovSg.Api.Auth;

/// <summary>The authenticated agency user behind a request, with the per-user settings the send path needs.</summary>
public sealed record Caller(
    long UserId,
    long ApiKeyId,
    int RateLimitPerSecond,
    int RateLimitBurst,
    int DefaultWaitSeconds,
    TimeSpan MessageValidity,
    string KeyType)
{
    /// <summary>Whether the request came with a test key (SPEC §11.2): its messages never reach the provider.</summary>
    public bool IsTest => KeyType == Contracts.KeyType.Test;

    /// <summary>Lets handlers take a <see cref="Caller"/> parameter; authentication has put it on the request.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context, ParameterInfo parameter) =>
        ValueTask.FromResult(context.Features.Get<Caller>());
}
