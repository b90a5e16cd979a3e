using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace GovSg.Dispatcher.Callbacks;

/// <summary>How status events are delivered to agencies' callback URLs (SPEC §11.1).</summary>
public sealed class CallbackOptions
{
    public const string SectionName = "Callbacks";

    /// <summary>Local runs only: deliveries may connect to loopback addresses (SPEC §11.1).</summary>
    public bool AllowInsecureLoopback { get; set; }

    /// <summary>An attempt without an answer in this time has failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The backoff ceiling of the first retry; it doubles with each failed attempt up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>An event not delivered within this time of its creation is dropped, whether or not it was attempted.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan Budget { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The budget as the reasons an agency reads name it: "24 h".</summary>
    public string BudgetText => Budget >= TimeSpan.FromHours(1)
        ? string.Create(CultureInfo.InvariantCulture, $"{Budget.TotalHours:0.#} h")
        : string.Create(CultureInfo.InvariantCulture, $"{Budget.TotalSeconds:0.#} s");

    /// <summary>Deliveries one Dispatcher has under way for one user: a slow endpoint holds at most this many.</summary>
    [Range(1, 1_000)]
    public int MaxInFlightPerUser { get; set; } = 8;

    /// <summary>Deliveries one Dispatcher has under way in all.</summary>
    [Range(1, 10_000)]
    public int MaxInFlight { get; set; } = 256;

    /// <summary>
    /// Failed attempts in a row after which the endpoint as a whole is paused (and then probed one event at a time), so a
    /// dead endpoint costs one attempt per pause rather than one per event. Attempts under way together that fail count as
    /// one (<c>CallbackStore</c>).
    /// </summary>
    [Range(1, 1_000)]
    public int EndpointFailureThreshold { get; set; } = 5;

    /// <summary>How long a claimed event is reserved for the attempt under way: past the timeout, so never delivered twice at once.</summary>
    public TimeSpan Lease => Timeout + TimeSpan.FromSeconds(30);
}
