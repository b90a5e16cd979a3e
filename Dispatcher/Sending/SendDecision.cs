using System.Diagnostics;

namespace GovSg.Dispatcher.Sending;

/// <summary>What becomes of a claimed message once its call has an outcome (decided by <see cref="FailurePolicy"/>).</summary>
public abstract record SendDecision
{
    private SendDecision()
    {
    }

    /// <summary>The provider took it: ACCEPTED with its message id.</summary>
    public sealed record Accept(string ProviderMessageId) : SendDecision
    {
        /// <summary>The span of the accepted call, kept so the statuses reported on it can link to it (SPEC §9.1).</summary>
        public ActivityContext CallTrace { get; init; }
    }

    /// <summary>ERROR now, with our code or the provider's.</summary>
    public sealed record Fail(string Code, string Description) : SendDecision;

    /// <summary>
    /// Due again at <paramref name="At"/>, within the retry budget; at the end of the message's validity when no try can
    /// come before it, and then expired by the sweep.
    /// </summary>
    public sealed record RetryAt(DateTime At, string LastError) : SendDecision;

    /// <summary>
    /// Kept until sending resumes (our credentials were at fault), or until its validity ends if that comes first, when
    /// the sweep expires it. The attempt is not counted: a first attempt does not start the retry budget, and a later one
    /// keeps its start. A claim not <paramref name="Called"/> (sending was paused) leaves a re-send after a hold one for
    /// the claim that takes it next.
    /// </summary>
    public sealed record DeferUntil(DateTime Until, string LastError, bool Called = true) : SendDecision;

    /// <summary>
    /// The provider may have sent it: wait <paramref name="For"/>, counted from when the hold is recorded, for a status
    /// naming this attempt to adopt it, and send again only if none does. <paramref name="CalledAt"/> is when the call
    /// was made, which an adoption records as the acceptance (SPEC §5); null keeps the claim's time.
    /// </summary>
    public sealed record Hold(TimeSpan For, string LastError, DateTime? CalledAt = null) : SendDecision;

    /// <summary>
    /// Not called: due again at <paramref name="Until"/>, or at once when null, for any dispatcher; its retry budget and
    /// last error kept.
    /// </summary>
    public sealed record HandBack(DateTime? Until = null) : SendDecision;
}
