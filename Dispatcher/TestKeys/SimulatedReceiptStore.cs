using Dapper;
using Npgsql;

namespace GovSg.Dispatcher.TestKeys;

/// <summary>A test message waiting for its next simulated receipt.</summary>
public sealed class WaitingTestMessage
{
    public long Id { get; init; }
    public string Recipient { get; init; } = "";
    public string Status { get; init; } = "";
    public DateTime AcceptedAt { get; init; }

    /// <summary>The id its acceptance recorded: the receipt names it, so applying it always finds the message.</summary>
    public string ProviderMessageId { get; init; } = "";
}

/// <summary>
/// Finds the test messages whose next receipt comes soonest. Nothing is stored for the simulated receipts: a message's
/// status and <c>accepted_at</c> say which receipt is next and when (<see cref="TestProvider.NextReceipt"/>), so a
/// restart loses none, and applying a receipt moves the message on to the next one.
/// </summary>
public sealed class SimulatedReceiptStore(NpgsqlDataSource dataSource)
{
    // Walks messages_test_receipts_due (0017_test_keys.sql), whose predicate this WHERE repeats; the order is by due
    // time, with the offsets NextReceipt uses for each status.
    private const string SoonestSql = $"""
        SELECT id, recipient, status::text AS status, accepted_at, provider_message_id
        FROM messages
        WHERE key_type = 'test' AND status IN ('ACCEPTED', 'SENT', 'DELIVERED')
          AND recipient <> '{TestProvider.SilentRecipient}'
        ORDER BY accepted_at + CASE status WHEN 'ACCEPTED' THEN @sentAfter WHEN 'SENT' THEN @deliveredAfter
                                           ELSE @readAfter END, id
        LIMIT @limit
        """;

    public async Task<IReadOnlyList<WaitingTestMessage>> SoonestAsync(TestKeyOptions options, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<WaitingTestMessage>(new CommandDefinition(SoonestSql, new
        {
            sentAfter = options.SentAfter,
            deliveredAfter = options.DeliveredAfter,
            readAfter = options.ReadAfter,
            limit = options.BatchSize,
        }, cancellationToken: cancellationToken))).ToList();
    }
}
