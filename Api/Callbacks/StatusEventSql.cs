namespace GovSg.Callbacks;

/// <summary>
/// The one way a status event is recorded (SPEC §4), shared by every statement that changes a message's status (in the
/// Dispatcher and the Api's operator commands, hence compiled into both).
/// </summary>
internal static class StatusEventSql
{
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
