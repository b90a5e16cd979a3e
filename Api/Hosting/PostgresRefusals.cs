using System.Net.Sockets;
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

    /// <summary>
    /// The database cannot do the work now, and the same work will pass once it can: it is unreachable, restarting, full
    /// or too slow to answer, takes no writes, or refuses the login (28000, 28P01, 3D000: a password rotated on one side
    /// first, a database not there yet, which an operator puts right). Not a bug: the Api answers 503 (SPEC §8) and
    /// the Dispatcher keeps the message to try again, where a bug's failure is answered 500 or parked.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        NpgsqlException { IsTransient: true } => true,
        NpgsqlException { InnerException: SocketException or TimeoutException or IOException } => true,
        PostgresException refused when IsPassing(refused) => true,
        // 57014: cancelled by statement_timeout; the database could not answer in the time the work may take.
        PostgresException { SqlState: "57014" or "28000" or "28P01" or "3D000" } => true,
        NpgsqlException readOnly when TakesNoWrites(readOnly) => true,
        TimeoutException => true,
        _ => false,
    };
}
