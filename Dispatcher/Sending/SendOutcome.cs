namespace GovSg.Dispatcher.Sending;

/// <summary>What to do after a failed provider call (SPEC §5).</summary>
public enum FailureKind
{
    /// <summary>Retry with backoff within the budget.</summary>
    Transient,

    /// <summary>The number's throughput is exceeded: retry, and slow this dispatcher down.</summary>
    Throughput,

    /// <summary>Too many messages to one recipient: retry after the recipient's wait (<c>RetryOptions.RecipientWait</c>).</summary>
    PairRate,

    /// <summary>ERROR at once.</summary>
    Permanent,

    /// <summary>Our token or account is broken: keep the message, pause sending, report unhealthy.</summary>
    CredentialsBroken,

    /// <summary>Not called: sending is paused for broken credentials. Kept like <see cref="CredentialsBroken"/>.</summary>
    Paused,

    /// <summary>Not called: the dispatcher is stopping. Handed back at once, its retry budget untouched.</summary>
    Stopping,

    /// <summary>
    /// Not called: its slot came too late for the call to end within the claim's lease, after which another dispatcher
    /// may send it, or after the message's validity. Handed back like <see cref="Stopping"/>.
    /// </summary>
    LateTurn,

    /// <summary>
    /// Not called: its recipient is in a pair-rate wait that began after the claim. Handed back until the wait ends.
    /// </summary>
    RecipientWaiting,

    /// <summary>
    /// Not called: an operator disabled its user after the claim. Handed back like <see cref="Stopping"/>; claims refuse
    /// it until the user is enabled again.
    /// </summary>
    UserDisabled,
}

/// <summary>The result of one provider call: accepted with the provider's id, or a classified failure.</summary>
public sealed record SendOutcome(
    string? ProviderMessageId,
    FailureKind Kind,
    string ErrorCode,
    string ErrorDescription,
    bool PossiblySent)
{
    public bool Accepted => ProviderMessageId is not null;

    public static SendOutcome Success(string providerMessageId) => new(providerMessageId, default, "", "", true);

    public static SendOutcome Failure(FailureKind kind, string code, string description, bool possiblySent = false) =>
        new(null, kind, code, description, possiblySent);

    public static SendOutcome NotCalled(FailureKind kind, string reason) => new(null, kind, "not_called", reason, false);
}
