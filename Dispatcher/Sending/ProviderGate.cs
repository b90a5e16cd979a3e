using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Guards the provider: paces calls to this dispatcher's share of the number's throughput, halves the pace when the
/// provider says it is exceeded (recovering gradually), and pauses all sending while the provider rejects our
/// credentials — so a broken token does not burn agencies' messages — reporting unhealthy until a call succeeds.
/// </summary>
public sealed class ProviderGate(IOptions<WhatsAppOptions> whatsApp, IOptions<RetryOptions> retry, TimeProvider time) : IHealthCheck
{
    private static readonly TimeSpan RecoveryStep = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly RetryOptions _retry = retry.Value;
    private double _maxRate = whatsApp.Value.MessagesPerSecond;
    private double _rate = whatsApp.Value.MessagesPerSecond;
    private long _nextSlot;
    private long _lastRateChange;
    private DateTime _pausedUntil = DateTime.MinValue;
    private TimeSpan _pause = retry.Value.CredentialPause;
    private string? _credentialError;

    /// <summary>The pace calls are held to now, in calls per second.</summary>
    public double CurrentRate
    {
        get
        {
            lock (_lock)
            {
                return _rate;
            }
        }
    }

    /// <summary>When sending resumes, if it is paused now.</summary>
    public DateTime? PausedUntil(DateTime now)
    {
        lock (_lock)
        {
            return now < _pausedUntil ? _pausedUntil : null;
        }
    }

    /// <summary>
    /// Reserves the next call slot and says how long until it comes. Slots are spaced 1/rate apart, with up to one
    /// second of burst; a reserved slot is kept even if the rate changes afterwards.
    /// </summary>
    public TimeSpan ReserveSlot()
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            Recover(now);
            var interval = (long)(time.TimestampFrequency / _rate);
            var slot = Math.Max(_nextSlot, now - time.TimestampFrequency);
            _nextSlot = slot + interval;
            return slot > now ? time.GetElapsedTime(now, slot) : TimeSpan.Zero;
        }
    }

    /// <summary>Gives back slots reserved for calls that will not be made, so they do not hold later calls back.</summary>
    public void ReturnSlots(int count)
    {
        if (count <= 0)
        {
            return;
        }

        lock (_lock)
        {
            var interval = (long)(time.TimestampFrequency / _rate);
            _nextSlot = Math.Max(_nextSlot - count * interval, time.GetTimestamp() - time.TimestampFrequency);
        }
    }

    /// <summary>Sets this dispatcher's share of the number's limit (see <see cref="ThroughputShare"/>).</summary>
    public void SetShare(double messagesPerSecond)
    {
        lock (_lock)
        {
            _rate = Math.Min(_rate * messagesPerSecond / _maxRate, messagesPerSecond);
            _maxRate = messagesPerSecond;
        }
    }

    public void ThroughputExceeded()
    {
        lock (_lock)
        {
            _rate = Math.Max(1, _rate / 2);
            _lastRateChange = time.GetTimestamp();
        }
    }

    /// <summary>
    /// Pauses sending. <paramref name="error"/> is the recorded <c>"&lt;code&gt;: &lt;provider text&gt;"</c>; only its
    /// redacted form is kept, because it reaches <c>/health/ready</c> and Meta's texts can carry a number or params.
    /// </summary>
    public void CredentialsRejected(DateTime now, string error)
    {
        lock (_lock)
        {
            _credentialError = ProviderErrors.Redact(error);
            // Calls already in flight when the pause began must not stretch it again.
            if (now >= _pausedUntil)
            {
                _pausedUntil = now + _pause;
                _pause = TimeSpan.FromTicks(Math.Min(_pause.Ticks * 2, _retry.MaxCredentialPause.Ticks));
            }
        }
    }

    public void ProviderAccepted()
    {
        if (Volatile.Read(ref _credentialError) is null)
        {
            return;
        }

        lock (_lock)
        {
            _credentialError = null;
            _pause = _retry.CredentialPause;
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var error = Volatile.Read(ref _credentialError);
        return Task.FromResult(error is null
            ? HealthCheckResult.Healthy()
            : new HealthCheckResult(context.Registration.FailureStatus,
                $"The provider rejects our credentials ({error}); sending is paused and messages are kept"));
    }

    private void Recover(long now)
    {
        if (_rate < _maxRate && time.GetElapsedTime(_lastRateChange, now) >= RecoveryStep)
        {
            _rate = Math.Min(_maxRate, _rate + _maxRate / 10);
            _lastRateChange = now;
        }
    }
}
