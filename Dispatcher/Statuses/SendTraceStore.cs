using Dapper;
using Npgsql;

namespace GovSg.Dispatcher.Statuses;

/// <summary>Reads the send traces (<see cref="Sending.SendTrace"/>) of the calls that statuses report on.</summary>
public sealed class SendTraceStore(NpgsqlDataSource dataSource)
{
    private const string SendTracesSql = """
        SELECT send_trace FROM messages WHERE provider_message_id = ANY(@providerMessageIds) AND send_trace IS NOT NULL
        """;

    public async Task<IReadOnlyList<string>> FindAsync(string[] providerMessageIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<string>(new CommandDefinition(SendTracesSql, new { providerMessageIds },
            cancellationToken: cancellationToken))).ToList();
    }
}
