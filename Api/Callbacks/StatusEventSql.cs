namespace GovSg.Callbacks;

/// <summary>
/// The one way a status event is recorded (SPEC §4), shared by every statement that changes a message's status (in the
/// Dispatcher and the Api's operator commands, hence compiled into both).
/// </summary>
internal static class StatusEventSql
{
    /// <summary>
    /// The time a status change is stamped with (<c>updated_at</c>, and the lifecycle timestamp it sets): <c>@now</c>,
    /// but always after the row's last change (<c>m</c>). The claim may take a message up to the clock tolerance before
    /// it is due by this clock, so with an Api whose clock is ahead, <c>@now</c> alone could come before
    /// <c>created_at</c>, and <c>updated_at</c> would go back (SPEC §4: the timestamps never go backwards).
    /// </summary>
    public const string ChangedAt = "GREATEST(m.updated_at + interval '1 millisecond', @now)";

    /// <summary>
    /// The channel the Dispatchers' delivery workers LISTEN on, instead of polling: every event insert notifies it
    /// (migration 0015's trigger), and so must a change that makes waiting events due sooner.
    /// </summary>
    public const string WakeChannel = "callback_events";

    /// <summary>
    /// The channel a change of callback settings that discards a user's pending events notifies (migration 0036), so that
    /// a delivery worker deletes them soon.
    /// </summary>
    public const string DiscardChannel = "callback_discards";

    /// <summary>
    /// The error code and description (SQL literals) an operator's <c>--cancel-pending</c> ends a message with (SPEC §7):
    /// at once by the command, or by the sweep's expiry once the call or hold that kept the command from ending it is over.
    /// </summary>
    public const string CancelledCode = "'cancelled'";

    /// <inheritdoc cref="CancelledCode"/>
    public const string CancelledDescription = "'Cancelled by an operator: the sending user was disabled'";

    /// <summary>
    /// A data-modifying CTE, placed after a CTE <c>changed</c> whose column <c>m</c> is the <c>messages</c> row as the
    /// statement left it (<c>RETURNING m</c>), one row per status change; <c>@now</c> is the event's time. It records one
    /// event per row, only for users whose callbacks are on: for everyone else it costs one primary-key probe per change.
    /// </summary>
    public const string RecordChanged = """
        recorded AS (
            INSERT INTO status_events (user_id, message_id, key_type, created_at, data, next_attempt_at)
            SELECT (c.m).user_id, (c.m).id, (c.m).key_type, @now, status_event_data(c.m), @now
            FROM changed c JOIN callback_settings s ON s.user_id = (c.m).user_id AND s.url IS NOT NULL
        )
        """;
}
