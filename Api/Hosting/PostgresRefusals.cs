using Npgsql;

namespace GovSg.Hosting;

/// <summary>What PostgreSQL's refusal of a session says about the database.</summary>
public static class PostgresRefusals
{
    /// <summary>
    /// The server is there but cannot take a session now, and that passes without anyone's help: it is shutting down
    /// (57P01, 57P02), starting up or recovering (57P03), or full (53300). An outage, not a misconfiguration.
    /// </summary>
    public static bool IsPassing(PostgresException refused) => refused.SqlState is "57P01" or "57P02" or "57P03" or "53300";

    /// <summary>
    /// The server takes no writes now (25006): a fail-over left us on the old primary, now a standby, or the server was put
    /// read-only (as managed servers are when their disk fills). Nothing was written; it passes once writes are back.
    /// </summary>
    public static bool TakesNoWrites(NpgsqlException exception) => exception is PostgresException { SqlState: "25006" };
}
